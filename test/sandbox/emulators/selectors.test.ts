import { SelectorError, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../../sandbox/emulators/selectors.js';

const labels = { app: 'checkout-api', tier: 'web', 'app.kubernetes.io/part-of': 'checkout', generation: '7' };

describe('label selectors', () => {
  test.each([
    ['', true],
    ['app=checkout-api', true],
    ['app==checkout-api', true],
    ['app!=checkout-api', false],
    ['app=checkout-worker', false],
    ['app=checkout-api,tier=web', true],
    ['app=checkout-api, tier = db', false],
    ['missing!=x', true],
    ['app in (checkout-api, checkout-worker)', true],
    ['app notin (checkout-api)', false],
    ['missing notin (a)', true],
    ['missing in (a)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app.kubernetes.io/part-of=checkout', true],
    ['generation>5', true],
    ['generation<5', false],
    ['app>5', false],
  ])('%j matches: %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  test('no labels at all match only negative requirements', () => {
    expect(matchesLabels(parseLabelSelector('!app'), undefined)).toBe(true);
    expect(matchesLabels(parseLabelSelector('app'), undefined)).toBe(false);
  });

  test.each(['app=', 'tier='])('an empty value is legal (%s)', (selector) => {
    expect(parseLabelSelector(selector)).toEqual([{ key: selector.slice(0, -1), op: 'in', values: [''] }]);
  });

  test.each([
    'app=a,',
    'app in ()',
    'app in (a',
    'app=a b',
    'bad key=1',
    '=x',
    'app=' + 'v'.repeat(64),
    'app in (a b)',
    'x/y/z=1',
    'a>b',
    ',',
  ])('rejects %j', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(SelectorError);
  });
});

describe('field selectors', () => {
  const supported = new Set(['metadata.name', 'status.phase']);
  test('parses =, == and !=', () => {
    expect(parseFieldSelector('status.phase=Running,metadata.name!=a,metadata.name==b', supported)).toEqual([
      { field: 'status.phase', op: '=', value: 'Running' },
      { field: 'metadata.name', op: '!=', value: 'a' },
      { field: 'metadata.name', op: '=', value: 'b' },
    ]);
  });
  test('rejects unsupported fields as the apiserver does', () => {
    expect(() => parseFieldSelector('spec.secret=1', supported)).toThrow('field label not supported: spec.secret');
  });
});
