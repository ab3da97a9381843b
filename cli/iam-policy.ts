// The worker role's permissions policy, derived from configuration: the AWS
// actions the code calls (REQUIRED_IAM_ACTIONS, the list the activity itself
// names in an AccessDenied) limited to the regions the services read
// CloudWatch in (cloudWatchRegions, the rule the egress allowlist uses too).
// Rendered by `triage iam` (cli/iam-command.ts) into
// deploy/iam/permissions-policy.json.
//
// Pure: no file, network or environment is read here.
import { REQUIRED_IAM_ACTIONS } from '../activities/cloudwatch.js';
import type { TriageConfig } from '../config/config.js';
import { cloudWatchRegions } from './cloudwatch-regions.js';

/**
 * Actions the code calls that IAM never evaluates, with AWS's word for it: a
 * grant for them would be dead weight, and a linter would rightly ask why it
 * is there.
 */
export const NEEDS_NO_PERMISSION: Partial<Record<(typeof REQUIRED_IAM_ACTIONS)[number], string>> = {
  'sts:GetCallerIdentity':
    'STS API reference: "No permissions are required to perform this operation"; even an explicit Deny does not stop it',
};

export const REGION_KEY = 'aws:RequestedRegion';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: '*';
  Condition?: { StringEquals: { [REGION_KEY]: string[] } };
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** What the role needs granted: every action the code calls, minus those IAM does not evaluate. */
export function grantedActions(): string[] {
  return REQUIRED_IAM_ACTIONS.filter((a) => !(a in NEEDS_NO_PERMISSION)).sort();
}

/**
 * The permissions policy for a configuration. `Resource` is "*" because
 * GetMetricData has no resource type; the region condition is the only scope
 * IAM offers for it.
 *
 * A configuration where no service reads CloudWatch still renders a valid
 * policy: one statement that denies the same actions. The role then grants
 * nothing, a policy put on it later still fails to grant CloudWatch until the
 * configuration asks for it, and the document stays one IAM and parliament
 * accept (an empty Statement list is not a documented form).
 */
export function iamPermissionsPolicy(triage: TriageConfig): PolicyDocument {
  const regions = cloudWatchRegions(triage);
  const Action = grantedActions();
  const statement: PolicyStatement =
    regions.length > 0
      ? {
          Sid: 'ReadCloudWatchMetricsInTriageRegions',
          Effect: 'Allow',
          Action,
          Resource: '*',
          Condition: { StringEquals: { [REGION_KEY]: regions } },
        }
      : { Sid: 'NoServiceReadsCloudWatch', Effect: 'Deny', Action, Resource: '*' };
  return { Version: '2012-10-17', Statement: [statement] };
}

/** Two-space JSON with a final newline, key order as built above, so the committed file diffs line by line. */
export function renderIamPolicyJson(policy: PolicyDocument): string {
  return `${JSON.stringify(policy, null, 2)}\n`;
}

/** The regions a policy document allows an action in, read back from its Allow statements; sorted, once each. */
export function allowedRegions(policy: unknown): string[] {
  const statements = (policy as { Statement?: unknown } | null)?.Statement;
  if (!Array.isArray(statements)) return [];
  const regions = statements.flatMap((s: { Effect?: unknown; Condition?: { StringEquals?: Record<string, unknown> } }) => {
    if (s?.Effect !== 'Allow') return [];
    const value = s.Condition?.StringEquals?.[REGION_KEY];
    return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
  });
  return [...new Set(regions)].sort();
}
