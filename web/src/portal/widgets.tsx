import { getDefaultRegistry } from '@rjsf/core';
import { ariaDescribedByIds, type RegistryWidgetsType, type WidgetProps } from '@rjsf/utils';
import { type ComponentType, useEffect, useRef, useState } from 'react';
import { formatPercent, type PercentReading, readPercent, understood } from './percent.ts';

const defaults = getDefaultRegistry().widgets;
const SelectWidget = defaults.SelectWidget as ComponentType<WidgetProps>;
const TextWidget = defaults.TextWidget as ComponentType<WidgetProps>;
const UpDownWidget = defaults.UpDownWidget as ComponentType<WidgetProps>;

/**
 * @rjsf renders the "which kind of value" select of an `anyOf`/`oneOf` field without a label,
 * so screen readers announce an unnamed combo box. A visually hidden label names it.
 */
function LabelledSelectWidget(props: WidgetProps) {
  const chooser = /__(anyof|oneof)_select$/.test(props.id);
  return (
    <>
      {chooser ? (
        <label htmlFor={props.id} className="sr-only">
          Kind of value for {props.label}
        </label>
      ) : null}
      <SelectWidget {...props} />
    </>
  );
}

const formValue = (r: PercentReading): unknown =>
  r.kind === 'percent' || r.kind === 'fraction' ? r.fraction : r.kind === 'invalid' ? r.text : undefined;

/**
 * A rate (`x-unit: 'fraction'`) typed as a percentage: `5`, `5 %` and `0.05` all give 0.05 to the form,
 * and the line under the input says what was understood ("5 % (0.05)"). Text that is no number goes to
 * the form as text, so the schema refuses it instead of the field silently falling back to a default.
 */
function PercentWidget(props: WidgetProps) {
  const { id, value, onChange, onBlur, onFocus, disabled, readonly, schema, htmlName } = props;
  const [text, setText] = useState(() => (typeof value === 'number' ? formatPercent(value) : ''));
  const typed = useRef(text);
  typed.current = text;
  const reading = readPercent(text);
  // A value set from outside (a re-run's input, a reset) replaces the text unless the text already means it.
  useEffect(() => {
    if (value === formValue(readPercent(typed.current))) return;
    setText(typeof value === 'number' ? formatPercent(value) : typeof value === 'string' ? value : '');
  }, [value]);
  const described = `${ariaDescribedByIds(id, !!schema.examples)} ${id}__understood`;
  return (
    <>
      <span className="percent-input">
        <input
          id={id}
          name={htmlName || id}
          className="form-control"
          type="text"
          inputMode="decimal"
          autoComplete="off"
          value={text}
          disabled={disabled}
          readOnly={readonly}
          aria-describedby={described}
          onChange={(e) => {
            setText(e.target.value);
            onChange(formValue(readPercent(e.target.value)));
          }}
          onBlur={(e) => onBlur(id, e.target.value)}
          onFocus={(e) => onFocus(id, e.target.value)}
        />
        <span aria-hidden="true">%</span>
      </span>
      <p
        id={`${id}__understood`}
        className={`understood${reading.kind === 'invalid' ? ' understood-invalid' : ''}`}
        aria-live="polite"
      >
        {understood(reading)}
      </p>
    </>
  );
}

const isRate = (props: WidgetProps) => props.schema['x-unit'] === 'fraction';

export const widgets: RegistryWidgetsType = {
  SelectWidget: LabelledSelectWidget,
  TextWidget: (props: WidgetProps) =>
    isRate(props) ? <PercentWidget {...props} /> : <TextWidget {...props} />,
  UpDownWidget: (props: WidgetProps) =>
    isRate(props) ? <PercentWidget {...props} /> : <UpDownWidget {...props} />,
};
