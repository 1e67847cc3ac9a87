import { describe, expect, it } from 'vitest';
import { fileNameFrom, parseEventStream } from '../../src/client/index.ts';
import { authorizationUrl, base64Url, challengeFor, createVerifier } from '../../web/src/auth/oidc.ts';
import { chartSeries } from '../../web/src/portal/format.ts';
import { errorSchemaFrom, uiSchemaFor } from '../../web/src/portal/schemaForm.ts';

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
