import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { createWitness, expectProblem, expectServesWitness, tinyPng } from './support.ts';

let server: TestServer;
let witness: { id: string; apiKey: string };
beforeAll(async () => {
  server = await startTestServer();
  witness = await createWitness(server);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const finance = (rules: unknown) => ({ rules: { finance: rules } });
const sheets = (names: unknown) => ({ formatting: { sheetNames: names } });
const fmt = (formatting: Record<string, unknown>) => ({ formatting });
const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64');
const png = tinyPng();
const brokenCrc = Buffer.from(png);
brokenCrc[20] = 0xff;

/** [what, the config sent, the field the 400 must name]. */
const HOSTILE: [string, unknown, string][] = [
  // Rule paths that would walk the prototype chain, or name no field
  [
    'range through loan.__proto__',
    finance({ ranges: { 'loan.__proto__': { minimum: 1 } } }),
    '/config/rules/finance/ranges/loan.__proto__',
  ],
  [
    'range on __proto__.polluted',
    finance({ ranges: { '__proto__.polluted': { minimum: 1 } } }),
    '/config/rules/finance/ranges/__proto__.polluted',
  ],
  [
    'range on constructor.prototype',
    finance({ ranges: { 'constructor.prototype': { minimum: 1 } } }),
    '/config/rules/finance/ranges/constructor.prototype',
  ],
  [
    'range on loan.constructor',
    finance({ ranges: { 'loan.constructor': { maximum: 1 } } }),
    '/config/rules/finance/ranges/loan.constructor',
  ],
  [
    'default on prototype',
    finance({ defaults: { prototype: 1 } }),
    '/config/rules/finance/defaults/prototype',
  ],
  [
    'fixed loan.__proto__.annualRate',
    finance({ fixed: { 'loan.__proto__.annualRate': 0.1 } }),
    '/config/rules/finance/fixed/loan.__proto__.annualRate',
  ],
  [
    'default on inherited toString',
    finance({ defaults: { toString: 1 } }),
    '/config/rules/finance/defaults/toString',
  ],
  [
    'range on inherited hasOwnProperty',
    finance({ ranges: { hasOwnProperty: { minimum: 0 } } }),
    '/config/rules/finance/ranges/hasOwnProperty',
  ],
  [
    'empty path segment',
    finance({ defaults: { 'loan..annualRate': 0.1 } }),
    '/config/rules/finance/defaults/loan..annualRate',
  ],
  [
    'unknown field',
    finance({ defaults: { discountRatio: 0.1 } }),
    '/config/rules/finance/defaults/discountRatio',
  ],
  [
    'path with a slash',
    finance({ defaults: { 'loan/annualRate': 0.1 } }),
    '/config/rules/finance/defaults/loan~1annualRate',
  ],
  // Wrong types and values in rules
  ['rules: null', { rules: null }, '/config/rules'],
  ['rules: a list', { rules: [] }, '/config/rules'],
  ['rules: a string', { rules: 'all' }, '/config/rules'],
  ['a model’s rules: null', finance(null), '/config/rules/finance'],
  ['rules of an unknown model', { rules: { nomodel: {} } }, '/config/rules/nomodel'],
  ['defaults: a list', finance({ defaults: [] }), '/config/rules/finance/defaults'],
  ['default years: "ten"', finance({ defaults: { years: 'ten' } }), '/config/rules/finance/defaults/years'],
  [
    'default years out of the model’s range',
    finance({ defaults: { years: 999 } }),
    '/config/rules/finance/defaults/years',
  ],
  [
    'fixed value not in the enum',
    finance({ fixed: { discounting: 'sideways' } }),
    '/config/rules/finance/fixed/discounting',
  ],
  [
    'range minimum: a string',
    finance({ ranges: { discountRate: { minimum: 'low' } } }),
    '/config/rules/finance/ranges/discountRate/minimum',
  ],
  [
    'range minimum above maximum',
    finance({ ranges: { discountRate: { minimum: 0.5, maximum: 0.1 } } }),
    '/config/rules/finance/ranges/discountRate',
  ],
  [
    'range leaving no allowed value',
    finance({ ranges: { years: { minimum: 1000 } } }),
    '/config/rules/finance/ranges/years',
  ],
  [
    'range on a text field',
    finance({ ranges: { currency: { minimum: 1 } } }),
    '/config/rules/finance/ranges/currency',
  ],
  [
    'range with an unknown bound',
    finance({ ranges: { discountRate: { min: 0 } } }),
    '/config/rules/finance/ranges/discountRate/min',
  ],
  ['rounding -1', finance({ rounding: -1 }), '/config/rules/finance/rounding'],
  ['rounding 1000', finance({ rounding: 1000 }), '/config/rules/finance/rounding'],
  ['rounding 1.5', finance({ rounding: 1.5 }), '/config/rules/finance/rounding'],
  ['unknown kind of rule', finance({ colour: {} }), '/config/rules/finance/colour'],
  // Sheet names: Excel's rules, uniqueness ignoring case with the defaults that stay
  ['sheet renamed onto a default', sheets({ Inputs: 'Summary' }), '/config/formatting/sheetNames/Inputs'],
  [
    'sheet renamed onto a default, other case',
    sheets({ Inputs: 'summary' }),
    '/config/formatting/sheetNames/Inputs',
  ],
  ['two sheets renamed alike', sheets({ Inputs: 'Data', DCF: 'DATA' }), '/config/formatting/sheetNames/DCF'],
  ['sheet name of 32 characters', sheets({ Inputs: 'x'.repeat(32) }), '/config/formatting/sheetNames/Inputs'],
  [
    'sheet name of 32 code points',
    sheets({ Inputs: '😀'.repeat(32) }),
    '/config/formatting/sheetNames/Inputs',
  ],
  ...['a/b', 'a\\b', 'a[b', 'a]b', 'a:b', 'a*b', 'a?b'].map((name): [string, unknown, string] => [
    `sheet name ${name}`,
    sheets({ Inputs: name }),
    '/config/formatting/sheetNames/Inputs',
  ]),
  [
    'sheet name with a leading apostrophe',
    sheets({ Inputs: "'Inputs" }),
    '/config/formatting/sheetNames/Inputs',
  ],
  [
    'sheet name with a trailing apostrophe',
    sheets({ Inputs: "Inputs'" }),
    '/config/formatting/sheetNames/Inputs',
  ],
  ['empty sheet name', sheets({ Inputs: '' }), '/config/formatting/sheetNames/Inputs'],
  ['blank sheet name', sheets({ Inputs: '   ' }), '/config/formatting/sheetNames/Inputs'],
  ['sheet named History', sheets({ Loan: 'History' }), '/config/formatting/sheetNames/Loan'],
  ['sheet named history', sheets({ Loan: 'history' }), '/config/formatting/sheetNames/Loan'],
  [
    'sheet name with a control character',
    sheets({ Loan: 'Lo\u0001an' }),
    '/config/formatting/sheetNames/Loan',
  ],
  ['rename of a sheet no workbook has', sheets({ Nope: 'Yes' }), '/config/formatting/sheetNames/Nope'],
  ['sheet name: a number', sheets({ Inputs: 5 }), '/config/formatting/sheetNames/Inputs'],
  ['sheetNames: a list', sheets(['Inputs']), '/config/formatting/sheetNames'],
  // Locale, currency, colours, logo, texts
  ['5,000-character locale', fmt({ locale: 'de'.padEnd(5000, '-x') }), '/config/formatting/locale'],
  ['locale that is not BCP 47', fmt({ locale: 'not a locale!' }), '/config/formatting/locale'],
  ['locale: a number', fmt({ locale: 5 }), '/config/formatting/locale'],
  ['currency not in ISO 4217', fmt({ currency: 'ABC' }), '/config/formatting/currency'],
  ['currency in lower case', fmt({ currency: 'eur' }), '/config/formatting/currency'],
  ['currency of four letters', fmt({ currency: 'EURO' }), '/config/formatting/currency'],
  ['colour with #', fmt({ brandColor: '#1F4E79' }), '/config/formatting/brandColor'],
  ['colour by name', fmt({ brandColor: 'red' }), '/config/formatting/brandColor'],
  ['colour of five digits', fmt({ brandColor: '1F4E7' }), '/config/formatting/brandColor'],
  ['logo that is not base64', fmt({ logoPng: 'junk!!' }), '/config/formatting/logoPng'],
  ['logo that is text', fmt({ logoPng: b64('hello world, not an image') }), '/config/formatting/logoPng'],
  [
    'logo that is a JPEG',
    fmt({ logoPng: b64(Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Array(60).fill(0)])) }),
    '/config/formatting/logoPng',
  ],
  [
    'logo: PNG signature, then junk',
    fmt({ logoPng: b64(Buffer.concat([png.subarray(0, 8), Buffer.alloc(60, 7)])) }),
    '/config/formatting/logoPng',
  ],
  ['logo with a corrupt header', fmt({ logoPng: b64(brokenCrc) }), '/config/formatting/logoPng'],
  [
    'logo cut short (no IEND)',
    fmt({ logoPng: b64(png.subarray(0, png.length - 12)) }),
    '/config/formatting/logoPng',
  ],
  [
    'logo over the size cap',
    fmt({ logoPng: b64(Buffer.concat([png, Buffer.alloc(70_000)])) }),
    '/config/formatting/logoPng',
  ],
  ['company name with a NUL', fmt({ companyName: 'Acme\u0000' }), '/config/formatting/companyName'],
  ['company name of 201 characters', fmt({ companyName: 'x'.repeat(201) }), '/config/formatting/companyName'],
  ['empty number format', fmt({ numberFormat: '' }), '/config/formatting/numberFormat'],
  [
    'number format of 300 characters',
    fmt({ numberFormat: '0'.repeat(300) }),
    '/config/formatting/numberFormat',
  ],
  ['unknown formatting setting', fmt({ font: 'Comic Sans' }), '/config/formatting/font'],
  ['formatting: null', { formatting: null }, '/config/formatting'],
  // Everything else in the settings
  ['unknown setting', { turbo: true }, '/config/turbo'],
  ['limits: null', { limits: null }, '/config/limits'],
  ['weight: a string', { limits: { weight: 'heavy' } }, '/config/limits/weight'],
  // cost / weight: a subnormal weight made every virtual time infinite; a huge one, strict priority
  ['weight: 5e-324', { limits: { weight: 5e-324 } }, '/config/limits/weight'],
  ['weight: 1e308', { limits: { weight: 1e308 } }, '/config/limits/weight'],
  ['weight: 0', { limits: { weight: 0 } }, '/config/limits/weight'],
  ['weight: 0.001', { limits: { weight: 0.001 } }, '/config/limits/weight'],
  ['memory of a gigabyte of megabytes', { function: { memoryMb: 1e9 } }, '/config/function/memoryMb'],
  ['placement policy mode yolo', { placementPolicy: { mode: 'yolo' } }, '/config/placementPolicy/mode'],
  ['webhook without its secret', { webhook: { url: 'https://example.com/h' } }, '/config/webhook/secret'],
];

async function configOf(id: string): Promise<unknown> {
  const res = await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken });
  return ((await res.json()) as { config: unknown }).config;
}

describe('tenant settings: every hostile value is a 400 naming its field, and no other tenant notices', () => {
  it('has at least 40 cases', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HOSTILE)('PATCH %s', async (_what, config, field) => {
    const id = newTenantId('victim');
    await server.createTenant(id);
    const before = await configOf(id);
    const res = await server.api(`/v1/admin/tenants/${id}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body: JSON.stringify({ config }),
    });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path)).toContain(field);
    for (const e of problem.errors ?? []) expect(e.message).not.toMatch(/^$|\bbe\s*$/);
    expect(await configOf(id)).toEqual(before);
    await expectServesWitness(server, witness);
  });

  // JSON.stringify cannot write these: the raw text is sent, as an attacker or a YAML `.inf` would.
  it.each([
    ['{"config":{"limits":{"submitRatePerSec":1e400}}}', '/config/limits/submitRatePerSec'],
    ['{"config":{"limits":{"weight":-1e999}}}', '/config/limits/weight'],
    [
      '{"config":{"rules":{"finance":{"ranges":{"revenue":{"maximum":1e400}}}}}}',
      '/config/rules/finance/ranges/revenue/maximum',
    ],
    [
      '{"config":{"rules":{"finance":{"defaults":{"revenue":1e400}}}}}',
      '/config/rules/finance/defaults/revenue',
    ],
  ])('PATCH with a number that parses to Infinity: %s', async (body, field) => {
    const id = newTenantId('victim');
    await server.createTenant(id);
    const before = await configOf(id);
    const res = await server.api(`/v1/admin/tenants/${id}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body,
    });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path)).toContain(field);
    expect(await configOf(id)).toEqual(before);
    await expectServesWitness(server, witness);
  });

  it.each(HOSTILE.filter((_, i) => i % 4 === 0))('POST (onboarding) %s', async (_what, config, field) => {
    const id = newTenantId('victim');
    const res = await server.api('/v1/admin/tenants', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ id, name: 'Victim', config }),
    });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path)).toContain(field);
    expect((await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })).status).toBe(404);
    await expectServesWitness(server, witness);
  });

  it.each([
    ['{"config":{"rules":{"__proto__":{"polluted":1}}}}', '/body/config/rules/__proto__'],
    ['{"config":{"__proto__":{"rules":{}}}}', '/body/config/__proto__'],
    [
      '{"config":{"formatting":{"constructor":{"prototype":{"x":1}}}}}',
      '/body/config/formatting/constructor',
    ],
  ])('a body key that reaches a prototype is refused by name: %s', async (body, field) => {
    const id = newTenantId('victim');
    await server.createTenant(id);
    const res = await server.api(`/v1/admin/tenants/${id}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body,
    });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path)).toContain(field);
    await expectServesWitness(server, witness);
  });

  it('the reported attack: after loan.__proto__ is refused, the tenant and every other tenant still submit', async () => {
    const id = newTenantId('pp');
    const { apiKey } = await server.createTenant(id);
    const attack = await server.api(`/v1/admin/tenants/${id}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body: JSON.stringify({ config: finance({ ranges: { 'loan.__proto__': { minimum: 1 } } }) }),
    });
    await expectProblem(attack, 400, 'validation_failed');
    for (const key of [apiKey, witness.apiKey]) {
      expect((await server.api('/v1/models', { token: key })).status).toBe(200);
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: key,
        body: '{"input":{}}',
      });
      expect(res.status, await res.clone().text()).toBe(202);
    }
  });

  it('accepts settings that keep the rules: 31 emoji, a real PNG, de-DE, EUR, renamed sheets, narrowed ranges', async () => {
    const id = newTenantId('good');
    const { apiKey } = await server.createTenant(id, {
      config: {
        rules: {
          finance: { defaults: { years: 7 }, ranges: { 'loan.annualRate': { maximum: 0.2 } }, rounding: 2 },
        },
        formatting: {
          sheetNames: { Inputs: '😀'.repeat(31), Summary: 'Übersicht', Simulation: 'Inputs (sim)' },
          logoPng: tinyPng(4, 2).toString('base64'),
          locale: 'de-DE',
          currency: 'EUR',
          brandColor: '1f4e79',
          companyName: 'Beispiel GmbH',
        },
      },
    });
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: '{"input":{}}',
    });
    expect(res.status).toBe(202);
    const job = await waitForJob(server, apiKey, ((await res.json()) as { id: string }).id);
    expect(job.status).toBe('succeeded');
    expect((job as { effectiveInput?: { years?: number } }).effectiveInput?.years ?? 7).toBe(7);
  });
});
