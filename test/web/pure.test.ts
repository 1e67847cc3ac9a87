import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PLAN as CLIENT_DEFAULT_PLAN,
  fileNameFrom,
  parseEventStream,
} from '../../src/client/index.ts';
import { DEFAULT_PLAN } from '../../src/core/tenant.ts';
import { financeSchema } from '../../src/models/finance/schema.ts';
import {
  authorizationUrl,
  base64Url,
  challengeFor,
  createVerifier,
  tokenForApi,
} from '../../web/src/auth/oidc.ts';
import {
  chartSeries,
  formatFigure,
  keyFigures,
  simulationDistributions,
  simulationFan,
} from '../../web/src/portal/format.ts';
import { describeFraction, formatPercent, readPercent, understood } from '../../web/src/portal/percent.ts';
import {
  errorSchemaFrom,
  formSchema,
  friendlyErrorsFor,
  implausibleValues,
  uiSchemaFor,
} from '../../web/src/portal/schemaForm.ts';

describe('PKCE helpers', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await challengeFor('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes verifiers of 43 unreserved characters, different every time', () => {
    const a = createVerifier();
    expect(a).toMatch(/^[A-Za-z0-9\-_]{43}$/);
    expect(createVerifier()).not.toBe(a);
  });

  it('encodes base64url without padding', () => {
    expect(base64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('builds the authorization request of the code flow', () => {
    const url = new URL(
      authorizationUrl(
        {
          issuer: 'https://idp.example',
          clientId: 'silopool-web',
          authorizationEndpoint: 'https://idp.example/authorize?prompt=login',
          tokenEndpoint: 'https://idp.example/token',
          scope: 'openid profile',
        },
        { challenge: 'abc', state: 'xyz', redirectUri: 'https://app.example/login/callback' },
      ),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      prompt: 'login',
      response_type: 'code',
      client_id: 'silopool-web',
      redirect_uri: 'https://app.example/login/callback',
      scope: 'openid profile',
      state: 'xyz',
      code_challenge: 'abc',
      code_challenge_method: 'S256',
    });
  });
});

describe('the token the web app sends to the API', () => {
  // Unsigned JWT-shaped tokens: the app only reads the payload, the API verifies.
  const jwt = (payload: Record<string, unknown>) =>
    `e30.${base64Url(new TextEncoder().encode(JSON.stringify(payload)))}.sig`;
  it('Cognito: the access token names no audience, so the ID token (aud = client, custom:tenants) goes', () => {
    const access = jwt({ client_id: 'app', 'cognito:groups': ['operator'], token_use: 'access' });
    const id = jwt({ aud: 'app', 'custom:tenants': 'acme', token_use: 'id' });
    expect(tokenForApi({ access_token: access, id_token: id })).toBe(id);
  });
  it('an access token for the API (aud set) goes before the ID token; an ID token alone, or an opaque access token, as given', () => {
    const access = jwt({ aud: 'https://api.example', tenants: ['acme'] });
    const id = jwt({ aud: 'app' });
    expect(tokenForApi({ access_token: access, id_token: id })).toBe(access);
    expect(tokenForApi({ id_token: id })).toBe(id);
    expect(tokenForApi({ access_token: 'opaque-token', id_token: id })).toBe(id);
    expect(tokenForApi({ access_token: 'opaque-token' })).toBe('opaque-token');
    expect(tokenForApi({})).toBeUndefined();
  });
});

describe('SSE parser', () => {
  it('splits events across chunk boundaries and skips comments', async () => {
    const chunks = [
      ': keep-alive\n\nid: 1\nevent: sta',
      'tus\ndata: {"a":1}\n\n',
      'event: status\r\ndata: x\r\ndata: y\r\n\r\n',
    ];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    const events = [];
    for await (const e of parseEventStream(body)) events.push(e);
    expect(events).toEqual([
      { event: 'status', data: '{"a":1}', id: '1' },
      { event: 'status', data: 'x\ny', id: '1' },
    ]);
  });
});

describe('Content-Disposition file names', () => {
  it('prefers the RFC 6266 UTF-8 name', () => {
    expect(fileNameFrom(`attachment; filename="a.xlsx"; filename*=UTF-8''M%C3%BCller%20DCF.xlsx`)).toBe(
      'Müller DCF.xlsx',
    );
    expect(fileNameFrom('attachment; filename="finance-123.xlsx"')).toBe('finance-123.xlsx');
    expect(fileNameFrom(null)).toBeUndefined();
  });
});

describe('form helpers', () => {
  it('places server field problems under their fields', () => {
    expect(
      errorSchemaFrom([
        { path: '/input/terminalGrowth', message: 'must be below the discount rate' },
        { path: '/input/loan/annualRate', message: 'must be at most 1' },
        { path: '/other', message: 'banner only' },
      ]),
    ).toEqual({
      terminalGrowth: { __errors: ['must be below the discount rate'] },
      loan: { annualRate: { __errors: ['must be at most 1'] } },
    });
  });

  it('puts units into labels, nested objects included', () => {
    expect(
      uiSchemaFor({
        properties: {
          years: { type: 'integer', title: 'Years', 'x-unit': 'years' },
          loan: { type: 'object', properties: { rate: { type: 'number', title: 'Rate', 'x-unit': '%' } } },
          plain: { type: 'string' },
        },
      }),
    ).toEqual({ years: { 'ui:title': 'Years (years)' }, loan: { rate: { 'ui:title': 'Rate (%)' } } });
    // A rate is a fraction in the schema and a percentage in the form.
    expect(
      uiSchemaFor({ properties: { r: { type: 'number', title: 'WACC', 'x-unit': 'fraction' } } }),
    ).toEqual({
      r: { 'ui:title': 'WACC (%)' },
    });
  });

  it('names array items by position, plain arrays and array choices alike', () => {
    const ui = uiSchemaFor(formSchema(financeSchema));
    const items = ui.revenueGrowth?.items as (item: unknown, index: number) => { 'ui:title': string };
    expect(items(0.05, 0)['ui:title']).toBe('Value per period 1 (%)');
    expect(items(0.05, 29)['ui:title']).toBe('Value per period 30 (%)');
    const plain = uiSchemaFor({
      properties: { xs: { type: 'array', title: 'Draws', items: { type: 'number', title: 'Draw' } } },
    });
    const plainItems = plain.xs?.items as (item: unknown, index: number) => { 'ui:title': string };
    expect(plainItems(1, 1)['ui:title']).toBe('Draw 2');
  });

  it('names the field of a required value', () => {
    const transform = friendlyErrorsFor(formSchema(financeSchema));
    const required = {
      property: '.discountRate',
      name: 'required',
      params: { missingProperty: 'discountRate' },
      message: "must have required property 'discountRate'",
      stack: "must have required property 'discountRate'",
      schemaPath: '',
    };
    expect(transform([required])[0]!.stack).toBe('Discount rate (WACC) is required');
  });
});

describe('percent inputs (rates typed as people type them, sent as fractions)', () => {
  it('reads 5, 5 %, 5% and 0.05 as 5 %, and says what it understood', () => {
    for (const text of ['5', '5 %', '5%', ' 5 % ', '0.05', '+5', '5,0']) {
      const r = readPercent(text);
      expect(r.kind === 'percent' || r.kind === 'fraction' ? r.fraction : r, text).toBe(0.05);
    }
    expect(understood(readPercent('5'))).toBe('Understood as 5 % (0.05).');
    expect(understood(readPercent('0.05'))).toContain(
      'Understood as 5 % (0.05): a number below 1 is read as a fraction',
    );
    expect(readPercent('0.5%')).toEqual({ kind: 'percent', fraction: 0.005 });
    expect(readPercent('-12.5')).toEqual({ kind: 'percent', fraction: -0.125 });
    expect(readPercent('500')).toEqual({ kind: 'percent', fraction: 5 });
    expect(readPercent('1')).toEqual({ kind: 'percent', fraction: 0.01 });
    expect(readPercent('0')).toEqual({ kind: 'fraction', fraction: 0 });
    expect(readPercent('')).toEqual({ kind: 'empty' });
    for (const bad of ['abc', '5%%', '1,000,5', '--5', '%', 'Infinity', '1e999']) {
      expect(readPercent(bad).kind, bad).toBe('invalid');
    }
    expect(understood(readPercent('abc'))).toContain('is not a rate');
  });

  it('turns whole and decimal percentages into the fractions the API expects, exactly', () => {
    // n / 100 is the double nearest n %, the same number a user typing 0.07 into the API sends.
    for (const [text, fraction] of [
      ['7', 0.07],
      ['7.25', 0.0725],
      ['10.5', 0.105],
      ['33.3', 0.333],
      ['0.1%', 0.001],
    ] as const) {
      expect(readPercent(text)).toMatchObject({ fraction });
    }
    // The text shown for a value reads back to the same value (a re-run keeps its input).
    for (const x of [
      0.07,
      0.005,
      0.1,
      0.0725,
      -0.99,
      0.333,
      1e-7,
      10,
      0.123456789012345,
      0.1 + 0.2,
      -1e-9,
      0,
    ]) {
      const r = readPercent(formatPercent(x));
      expect(r.kind === 'percent' ? r.fraction : r, String(x)).toBe(x);
      expect(formatPercent(x)).not.toMatch(/e/);
    }
    expect(formatPercent(0.07)).toBe('7 %');
    expect(formatPercent(1e-7)).toBe('0.00001 %');
    expect(formatPercent(-0.125)).toBe('-12.5 %');
    expect(describeFraction(0.105)).toBe('10.5 % (0.105)');
  });

  it('finds the values a user should confirm: past x-warn-above, also per year and inside objects', () => {
    const schema = formSchema(financeSchema);
    expect(implausibleValues(schema, { revenueGrowth: 0.05, discountRate: 0.1 })).toEqual([]);
    const found = implausibleValues(schema, {
      revenueGrowth: [0.05, 5],
      discountRate: 0.6,
      loan: { annualRate: 0.7, principal: 1e9 },
      terminalGrowth: 0.4,
    });
    expect(found.map((v) => [v.path, v.limit])).toEqual([
      ['/revenueGrowth/1', 1],
      ['/discountRate', 0.5],
      ['/loan/annualRate', 0.5],
    ]);
    expect(found[0]!.message).toBe('Revenue growth, year 2 is 500 % (5), above 100 % (1).');
    expect(found[2]!.label).toBe('Loan: Annual interest rate');
    // The unit reaches the number choice and the items of a per-year rate.
    const growth = (schema.properties as Record<string, { anyOf: Record<string, unknown>[] }>).revenueGrowth!;
    expect(growth.anyOf[0]!['x-unit']).toBe('fraction');
    expect((growth.anyOf[1]!.items as Record<string, unknown>)['x-unit']).toBe('fraction');
  });
});

describe('form messages in the unit the user types', () => {
  it("gives a rate's limits as percentages, other limits as numbers", () => {
    const transform = friendlyErrorsFor(formSchema(financeSchema));
    const error = (property: string, name: string, limit: number) => ({
      property,
      name,
      params: { limit },
      message: `must be <= ${limit}`,
      stack: `'x' must be <= ${limit}`,
      schemaPath: '',
    });
    const [wacc, loanRate, year, years] = transform([
      error('.discountRate', 'maximum', 1),
      error('.loan.annualRate', 'maximum', 1),
      error('.revenueGrowth.2', 'minimum', -0.99),
      error('.years', 'maximum', 30),
    ]);
    expect(wacc!.message).toBe('must be at most 100 %');
    // The summary line names the field the way its label does.
    expect(wacc!.stack).toBe('Discount rate (WACC) must be at most 100 %');
    expect(year!.stack).toBe('Value per period 3 must be at least -99 %');
    expect(loanRate!.message).toBe('must be at most 100 %');
    expect(year!.message).toBe('must be at least -99 %');
    expect(years!.message).toBe('must be at most 30');
  });
});

describe('key figures with their units', () => {
  it('shows money in the job currency, rates as percent, multiples with ×, and groups such as the loan', () => {
    const figures = keyFigures(
      {
        currency: 'EUR',
        enterpriseValue: 1234567.891,
        netIrr: 0.0816,
        tvpi: 1.5234,
        loan: { monthlyPayment: 5995.51, totalInterest: 1158381.6, months: 360 },
        freeCashFlow: [{ year: 2025, value: 1 }],
      },
      {
        enterpriseValue: 'money',
        netIrr: 'fraction',
        tvpi: 'multiple',
        loan: { monthlyPayment: 'money', totalInterest: 'money' },
      },
    );
    expect(figures.map((f) => f.label)).toEqual([
      'Enterprise value',
      'Net IRR',
      'TVPI',
      'Loan monthly payment',
      'Loan total interest',
      'Loan months',
    ]);
    const shown = figures.map((f) => formatFigure(f.value, f.unit, 'EUR', f.key));
    const eur = (x: number) =>
      x.toLocaleString(undefined, { style: 'currency', currency: 'EUR', currencyDisplay: 'code' });
    expect(shown).toEqual([eur(1234567.89), '8.16 %', '1.52×', eur(5995.51), eur(1158381.6), '360']);
    // One format per quantity: the code, and the same decimals for every amount (1,158,381.60, not .6).
    expect(shown[0]).toMatch(/^EUR\s1,234,567\.89$/);
    expect(shown[4]).toMatch(/^EUR\s1,158,381\.60$/);
    expect(formatFigure(0.0836, 'fraction', 'USD')).toBe('8.36 %');
    expect(formatFigure(0.08, 'fraction', 'USD')).toBe('8.00 %');
    expect(formatFigure(1.4, 'multiple', 'USD')).toBe('1.40×');
    expect(formatFigure(2172761.2, 'money', undefined)).toBe('2,172,761.20');
    expect(formatFigure(1000, 'money', 'JPY')).toMatch(/^JPY\s1,000$/);
    expect(keyFigures({ loan: null, valuePerShare: null }, { loan: { totalInterest: 'money' } })).toEqual([
      { key: 'valuePerShare', label: 'Value per share', value: null, unit: undefined },
    ]);
    expect(formatFigure(null, 'fraction', 'USD')).toBe('—');
  });
});

describe('Monte Carlo fan', () => {
  it("reads the fan from a job's summary, and nothing when there is no simulation", () => {
    const point = { year: 2025, p5: -3, p25: -2, p50: -1, p75: 0, p95: 1 };
    expect(simulationFan({ simulation: { cumulativeNetCashFlowFan: [point, { year: 2026 }] } })).toEqual([
      point,
    ]);
    expect(simulationFan({ simulation: null })).toEqual([]);
    expect(simulationFan(undefined)).toEqual([]);
  });
});

describe('chart series', () => {
  it("uses the model's series, else the summary's period tables", () => {
    expect(chartSeries({ series: { freeCashFlow: [{ label: 2025, value: 1 }] } })).toEqual([
      ['freeCashFlow', [{ label: 2025, value: 1 }]],
    ]);
    expect(
      chartSeries({
        series: {},
        summary: {
          npv: 3,
          freeCashFlow: [{ year: 2025, value: 10 }],
          periods: [
            { period: 2025, netCashFlow: -5, cumulativeNetCashFlow: -5 },
            { period: 2026, netCashFlow: 2, cumulativeNetCashFlow: -3 },
          ],
        },
      }),
    ).toEqual([
      ['freeCashFlow', [{ label: 2025, value: 10 }]],
      [
        'jCurve',
        [
          { label: 2025, value: -5 },
          { label: 2026, value: -3 },
        ],
      ],
      [
        'netCashFlow',
        [
          { label: 2025, value: -5 },
          { label: 2026, value: 2 },
        ],
      ],
    ]);
  });
});

describe('one default plan', () => {
  it("the console's (the client's) is the server's, which the API and the CLI use", () => {
    expect(CLIENT_DEFAULT_PLAN).toBe(DEFAULT_PLAN);
  });
});

describe('Monte Carlo distributions', () => {
  it('reads the percentiles of TVPI and IRR, in order, skipping what is missing', () => {
    const d = simulationDistributions({
      simulation: {
        tvpi: { mean: 1.5, p5: 1.1, p10: 1.2, p25: 1.3, p50: 1.5, p75: 1.7, p90: 1.9, p95: 2 },
        irr: { p5: 0.01, p50: 0.08, p95: Number.NaN },
      },
    });
    expect(d.map((x) => x.key)).toEqual(['tvpi', 'irr']);
    expect(d[0]!.points.map((p) => p.label)).toEqual(['P5', 'P10', 'P25', 'Median', 'P75', 'P90', 'P95']);
    expect(d[1]!.points).toEqual([
      { label: 'P5', value: 0.01 },
      { label: 'Median', value: 0.08 },
    ]);
    expect(simulationDistributions({})).toEqual([]);
  });
});
