import {
  ensureSearchAttributes,
  missingSearchAttributes,
  SearchAttributesMissing,
  searchAttributeFix,
} from '../../config/temporal-search-attributes.js';

const KEYWORD = 2;
const TEXT = 1;
const NAMES = ['TriageIncidentId', 'TriageStage'];

/** An OperatorService that holds a namespace's custom attributes, and may refuse to add. */
function operator(custom: Record<string, number>, refuse?: Error) {
  const added: Record<string, number>[] = [];
  return {
    added,
    connection: {
      operatorService: {
        listSearchAttributes: async ({ namespace }: { namespace?: string | null }) => {
          expect(namespace).toBe('triage');
          return { customAttributes: { ...custom } };
        },
        addSearchAttributes: async ({ searchAttributes }: { searchAttributes?: Record<string, number> | null }) => {
          if (refuse) throw refuse;
          added.push(searchAttributes ?? {});
          Object.assign(custom, searchAttributes);
          return {};
        },
      },
    } as never,
  };
}

describe('search attributes on the namespace', () => {
  test.each<{ name: string; custom: Record<string, number>; missing: string[] }>([
    { name: 'all present as Keyword', custom: { TriageIncidentId: KEYWORD, TriageStage: KEYWORD }, missing: [] },
    { name: 'one absent', custom: { TriageIncidentId: KEYWORD }, missing: ['TriageStage'] },
    { name: 'one with another type counts as missing', custom: { TriageIncidentId: KEYWORD, TriageStage: TEXT }, missing: ['TriageStage'] },
  ])('missing: $name', async ({ custom, missing }) => {
    expect(await missingSearchAttributes(operator(custom).connection, 'triage', NAMES)).toEqual(missing);
  });

  test('the missing ones are registered as Keyword, and only they', async () => {
    const op = operator({ TriageIncidentId: KEYWORD });
    expect(await ensureSearchAttributes(op.connection, 'triage', NAMES, { register: true })).toEqual(['TriageStage']);
    expect(op.added).toEqual([{ TriageStage: KEYWORD }]);
  });

  test('nothing is registered when all are there', async () => {
    const op = operator({ TriageIncidentId: KEYWORD, TriageStage: KEYWORD });
    expect(await ensureSearchAttributes(op.connection, 'triage', NAMES, { register: true })).toEqual([]);
    expect(op.added).toEqual([]);
  });

  test.each([
    {
      name: 'an identity that may not register them',
      register: true,
      refuse: new Error('7 PERMISSION_DENIED: Request unauthorized.'),
      reason: /may not register them \(7 PERMISSION_DENIED/,
    },
    { name: 'registration turned off', register: false, refuse: undefined, reason: /registering them is turned off/ },
  ])('$name: a clear error naming the command to run', async ({ register, refuse, reason }) => {
    const op = operator({}, refuse);
    const error = await ensureSearchAttributes(op.connection, 'triage', NAMES, { register }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SearchAttributesMissing);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).toContain('namespace triage lacks the search attributes TriageIncidentId, TriageStage');
    expect((error as Error).message).toContain(searchAttributeFix('triage', NAMES));
  });

  test('the fix is the Temporal CLI command, and tcld for Temporal Cloud', () => {
    expect(searchAttributeFix('triage', NAMES)).toBe(
      'temporal operator search-attribute create --namespace triage --name TriageIncidentId --type Keyword --name TriageStage --type Keyword' +
        " (Temporal Cloud: tcld namespace search-attributes add --namespace triage --search-attribute 'TriageIncidentId=Keyword' --search-attribute 'TriageStage=Keyword', or the Cloud UI)",
    );
  });
});
