import {
  type ErrorListProps,
  getUiOptions,
  type IconButtonProps,
  type RJSFValidationError,
  type TemplatesType,
} from '@rjsf/utils';
import type { ReactNode } from 'react';

/**
 * @rjsf's default buttons draw Bootstrap 3 glyphicons, a font this app never loads (and its CSP would
 * refuse): they showed as empty squares with only a `title` for a name. These draw an inline SVG beside a
 * word, and name the item they act on ("Remove value per period 2").
 */
const ICONS: Record<string, ReactNode> = {
  add: <path d="M8 3v10M3 8h10" />,
  remove: <path d="M4 4l8 8M12 4l-8 8" />,
  up: <path d="M8 13V3M4 7l4-4 4 4" />,
  down: <path d="M8 3v10M4 9l4 4 4-4" />,
  copy: <path d="M5 5h8v8H5zM3 11V3h8" />,
};

function Icon({ name }: { name: keyof typeof ICONS }) {
  return (
    <svg
      className="icon"
      viewBox="0 0 16 16"
      width="16"
      height="16"
      aria-hidden="true"
      focusable="false"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
    >
      {ICONS[name]}
    </svg>
  );
}

/** What an item's buttons call it: its title from the uiSchema (`ui:title`), in lower case after the verb. */
function itemName(props: IconButtonProps): string {
  const title = getUiOptions(props.uiSchema).title;
  if (typeof title !== 'string' || !title) return 'this value';
  // The unit belongs to the input, not to the button's name: "Remove value per period 2".
  const name = title.replace(/\s*\([^)]*\)$/, '');
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function TextButton({
  props,
  icon,
  text,
  label,
}: {
  props: IconButtonProps;
  icon: keyof typeof ICONS;
  text: string;
  label: string;
}) {
  const { id, className, onClick, disabled } = props;
  return (
    <button
      type="button"
      id={id}
      className={`button-secondary button-small ${className ?? ''}`}
      onClick={onClick}
      disabled={disabled}
      aria-label={label}
    >
      <Icon name={icon} />
      <span aria-hidden="true">{text}</span>
    </button>
  );
}

function AddButton(props: IconButtonProps) {
  const title = getUiOptions(props.uiSchema).title;
  const label = typeof title === 'string' && title ? `Add a value to ${title}` : 'Add a value';
  return <TextButton props={props} icon="add" text="Add" label={label} />;
}
function RemoveButton(props: IconButtonProps) {
  return <TextButton props={props} icon="remove" text="Remove" label={`Remove ${itemName(props)}`} />;
}
function MoveUpButton(props: IconButtonProps) {
  return <TextButton props={props} icon="up" text="Up" label={`Move ${itemName(props)} up`} />;
}
function MoveDownButton(props: IconButtonProps) {
  return <TextButton props={props} icon="down" text="Down" label={`Move ${itemName(props)} down`} />;
}
function CopyButton(props: IconButtonProps) {
  return <TextButton props={props} icon="copy" text="Copy" label={`Copy ${itemName(props)}`} />;
}
function ClearButton(props: IconButtonProps) {
  return <TextButton props={props} icon="remove" text="Clear" label={`Clear ${itemName(props)}`} />;
}

/** Text-and-SVG buttons for every array control @rjsf draws: add, remove, move, copy, clear. */
export const buttonTemplates: Partial<TemplatesType['ButtonTemplates']> = {
  AddButton,
  RemoveButton,
  MoveUpButton,
  MoveDownButton,
  CopyButton,
  ClearButton,
};

/** `.loan.principal` → `root_loan_principal`, the id @rjsf gives the field's input. */
export function fieldIdOf(property: string | undefined): string {
  return `root${(property ?? '').replace(/\./g, '_')}`;
}

/**
 * The list of problems above the form, as an error summary: a heading, then each problem once, as a link
 * that moves focus to its field. It takes focus when the server refused the input (the page's submit
 * handler focuses `#error-summary`); browser-side checks focus the first bad field instead.
 */
export function ErrorSummary({ errors }: ErrorListProps) {
  const unique = dedupe(errors);
  if (unique.length === 0) return null;
  return (
    <section
      className="banner banner-error error-summary"
      id="error-summary"
      tabIndex={-1}
      aria-labelledby="error-summary-title"
    >
      <h2 className="banner-title" id="error-summary-title">
        {unique.length === 1 ? 'There is a problem' : `There are ${unique.length} problems`}
      </h2>
      <ul>
        {unique.map((e) => (
          <li key={e.stack}>
            <a
              href={`#${fieldIdOf(e.property)}`}
              onClick={(event) => {
                const field = document.getElementById(fieldIdOf(e.property));
                if (!field) return;
                event.preventDefault();
                field.focus();
              }}
            >
              {e.stack}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** One line per problem: a value that fails both branches of a choice is reported once, not per branch. */
function dedupe(errors: RJSFValidationError[]): RJSFValidationError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    if (seen.has(e.stack)) return false;
    seen.add(e.stack);
    return true;
  });
}

export const formTemplates: Partial<TemplatesType> = {
  ButtonTemplates: buttonTemplates as TemplatesType['ButtonTemplates'],
  ErrorListTemplate: ErrorSummary,
};
