import { getDefaultRegistry } from '@rjsf/core';
import type { RegistryWidgetsType, WidgetProps } from '@rjsf/utils';
import type { ComponentType } from 'react';

const SelectWidget = getDefaultRegistry().widgets.SelectWidget as ComponentType<WidgetProps>;

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

export const widgets: RegistryWidgetsType = { SelectWidget: LabelledSelectWidget };
