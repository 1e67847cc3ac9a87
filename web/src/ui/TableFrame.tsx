import type { ReactNode } from 'react';

/**
 * The frame every data table sits in. On a narrow screen the table keeps its columns readable (cells do
 * not wrap a word per line; long text gets a readable minimum width) and scrolls sideways inside this
 * frame, never the page; the first column stays in view while it scrolls. The frame is a labelled,
 * focusable region, so keyboard users can scroll it and screen readers announce what it holds.
 */
export function TableFrame({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it (WCAG 2.1.1).
    <section className="table-wrap" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
