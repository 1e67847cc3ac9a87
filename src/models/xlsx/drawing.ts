import type { ChartSeries, ChartSpec, ImageSpec } from './cells.ts';
import { escapeXml, xmlNumber } from './xml.ts';

const NS_C = 'http://schemas.openxmlformats.org/drawingml/2006/chart';
const NS_A = 'http://schemas.openxmlformats.org/drawingml/2006/main';
const NS_R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const NS_XDR = 'http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing';
const PALETTE = ['1F4E79', 'C55A11', '548235', '7F6000', '7030A0'];

/** A DrawingML chart part (xl/charts/chartN.xml); series reference sheet ranges and cache their values. */
export function chartXml(chart: ChartSpec, brand: string): string {
  const cat = cache(chart.categoriesRef, chart.categories);
  const series = chart.series
    .map((s, i) =>
      seriesXml(chart.kind, s, i, cat, s.color ?? (i === 0 ? brand : PALETTE[i % PALETTE.length]!)),
    )
    .join('');
  const axes = '<c:axId val="1001"/><c:axId val="1002"/>';
  const lineChart = (sers: string) =>
    `<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>${sers}<c:marker val="1"/>${axes}</c:lineChart>`;
  let plot: string;
  if (chart.kind === 'column') {
    plot = `<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/>${series}<c:gapWidth val="80"/>${axes}</c:barChart>`;
  } else if (chart.kind === 'fan') {
    // Area and line share the axes; series indices run on across both groups, as ECMA-376 requires.
    const n = chart.series.length;
    const lines = (chart.lines ?? [])
      .map((s, i) => seriesXml('line', s, n + i, cat, s.color ?? brand))
      .join('');
    plot = `<c:areaChart><c:grouping val="stacked"/><c:varyColors val="0"/>${series}${axes}</c:areaChart>${lines ? lineChart(lines) : ''}`;
  } else {
    plot = lineChart(series);
  }
  const hiddenFromLegend = chart.series
    .flatMap((s, i) =>
      s.invisible ? [`<c:legendEntry><c:idx val="${i}"/><c:delete val="1"/></c:legendEntry>`] : [],
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    `<c:chartSpace xmlns:c="${NS_C}" xmlns:a="${NS_A}" xmlns:r="${NS_R}"><c:roundedCorners val="0"/><c:chart>` +
    `<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>${escapeXml(chart.title)}</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>` +
    `<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>${plot}` +
    '<c:catAx><c:axId val="1001"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="b"/>' +
    '<c:numFmt formatCode="General" sourceLinked="1"/><c:tickLblPos val="low"/><c:crossAx val="1002"/><c:crosses val="autoZero"/>' +
    '<c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>' +
    '<c:valAx><c:axId val="1002"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="l"/>' +
    `<c:majorGridlines/><c:numFmt formatCode="${escapeXml(chart.valueFormat ?? '#,##0')}" sourceLinked="0"/><c:tickLblPos val="nextTo"/>` +
    '<c:crossAx val="1001"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx></c:plotArea>' +
    `<c:legend><c:legendPos val="b"/>${hiddenFromLegend}<c:overlay val="0"/></c:legend><c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/>` +
    '</c:chart></c:chartSpace>'
  );
}

function cache(ref: string, values: (number | string)[]): string {
  const numeric = values.every((v) => typeof v === 'number');
  const pts = values
    .map(
      (v, i) => `<c:pt idx="${i}"><c:v>${typeof v === 'number' ? xmlNumber(v) : escapeXml(v)}</c:v></c:pt>`,
    )
    .join('');
  return numeric
    ? `<c:numRef><c:f>${escapeXml(ref)}</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="${values.length}"/>${pts}</c:numCache></c:numRef>`
    : `<c:strRef><c:f>${escapeXml(ref)}</c:f><c:strCache><c:ptCount val="${values.length}"/>${pts}</c:strCache></c:strRef>`;
}

function seriesXml(kind: ChartSpec['kind'], s: ChartSeries, i: number, cat: string, color: string): string {
  const head = `<c:idx val="${i}"/><c:order val="${i}"/><c:tx><c:v>${escapeXml(s.name)}</c:v></c:tx>`;
  const val = `<c:val>${cache(s.ref, s.values)}</c:val>`;
  if (kind === 'column') {
    return `<c:ser>${head}<c:spPr><a:solidFill><a:srgbClr val="${color}"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/><c:cat>${cat}</c:cat>${val}</c:ser>`;
  }
  if (kind === 'fan') {
    const alpha = s.opacity === undefined ? '' : `<a:alpha val="${Math.round(s.opacity * 100000)}"/>`;
    const fill = s.invisible
      ? '<a:noFill/><a:ln><a:noFill/></a:ln>'
      : `<a:solidFill><a:srgbClr val="${color}">${alpha}</a:srgbClr></a:solidFill><a:ln><a:noFill/></a:ln>`;
    return `<c:ser>${head}<c:spPr>${fill}</c:spPr><c:cat>${cat}</c:cat>${val}</c:ser>`;
  }
  return `<c:ser>${head}<c:spPr><a:ln w="28575"><a:solidFill><a:srgbClr val="${color}"/></a:solidFill></a:ln></c:spPr><c:marker><c:symbol val="none"/></c:marker><c:cat>${cat}</c:cat>${val}<c:smooth val="0"/></c:ser>`;
}

const anchor = (tag: 'from' | 'to', col: number, row: number) =>
  `<xdr:${tag}><xdr:col>${col}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>${row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:${tag}>`;

/** The sheet's drawing part: charts first (rId1…), then images (after the charts' ids). */
export function drawingXml(charts: ChartSpec[], images: ImageSpec[]): string {
  let id = 2;
  const parts = charts.map(
    (c, i) =>
      `<xdr:twoCellAnchor>${anchor('from', c.from.col, c.from.row)}${anchor('to', c.to.col, c.to.row)}` +
      `<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="${id++}" name="Chart ${i + 1}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>` +
      '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>' +
      `<a:graphic><a:graphicData uri="${NS_C}"><c:chart xmlns:c="${NS_C}" r:id="rId${i + 1}"/></a:graphicData></a:graphic>` +
      '</xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>',
  );
  images.forEach((img, i) => {
    const [w, h] = pngSize(img.png);
    const cy = img.heightPx * 9525;
    const cx = Math.round((cy * w) / Math.max(1, h));
    parts.push(
      `<xdr:oneCellAnchor>${anchor('from', img.col, img.row)}<xdr:ext cx="${cx}" cy="${cy}"/>` +
        `<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="${id++}" name="Logo ${i + 1}"/><xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr>` +
        `<xdr:blipFill><a:blip r:embed="rId${charts.length + i + 1}"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>` +
        `<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="${cx}" cy="${cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr>` +
        '</xdr:pic><xdr:clientData/></xdr:oneCellAnchor>',
    );
  });
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    `<xdr:wsDr xmlns:xdr="${NS_XDR}" xmlns:a="${NS_A}" xmlns:r="${NS_R}">${parts.join('')}</xdr:wsDr>`
  );
}

/** Width and height from a PNG's IHDR chunk; [1, 1] for anything that is not a PNG. */
export function pngSize(png: Uint8Array): [number, number] {
  if (png.length < 24 || png[0] !== 0x89 || png[1] !== 0x50) return [1, 1];
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [dv.getUint32(16), dv.getUint32(20)];
}

export function isPng(png: Uint8Array): boolean {
  return png.length >= 24 && png[0] === 0x89 && png[1] === 0x50 && png[2] === 0x4e && png[3] === 0x47;
}
