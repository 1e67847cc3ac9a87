import { type InputHTMLAttributes, type ReactNode, useId } from 'react';

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  help?: ReactNode;
  error?: string | undefined;
}

/**
 * The frame of one labelled control: its label, help and error, tied to the control (rendered by
 * `control` with the id and ARIA attributes to spread on it) with aria-describedby.
 */
function FieldFrame({
  label,
  help,
  error,
  control,
}: {
  label: string;
  help?: ReactNode;
  error?: string | undefined;
  control(aria: {
    id: string;
    'aria-invalid': true | undefined;
    'aria-describedby': string | undefined;
  }): ReactNode;
}) {
  const id = useId();
  const describedBy = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {control({
        id,
        'aria-invalid': error ? true : undefined,
        'aria-describedby': describedBy || undefined,
      })}
      {help ? (
        <p className="help" id={`${id}-help`}>
          {help}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A labelled input whose help and error are tied to it with aria-describedby. */
export function Field({ label, help, error, ...input }: FieldProps) {
  return (
    <FieldFrame label={label} help={help} error={error} control={(aria) => <input {...aria} {...input} />} />
  );
}

interface SelectFieldProps {
  label: string;
  value: string;
  options: readonly string[];
  onChange(value: string): void;
  error?: string | undefined;
  help?: ReactNode;
}

export function SelectField({ label, value, options, onChange, error, help }: SelectFieldProps) {
  return (
    <FieldFrame
      label={label}
      help={help}
      error={error}
      control={(aria) => (
        <select {...aria} value={value} onChange={(e) => onChange(e.target.value)}>
          {options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      )}
    />
  );
}
