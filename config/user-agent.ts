// The triage id rides in the User-Agent of every AWS and Kubernetes call,
// where CloudTrail and the apiserver audit log record it. Writer (the
// activities) and reader (`triage audit`) share this one definition, so the
// join cannot drift from what is sent.

const PRODUCT = ['keyless-triage', '0.1'] as const;

export const USER_AGENT_PRODUCT = `${PRODUCT[0]}/${PRODUCT[1]}`;

/** The Kubernetes client's whole User-Agent: `keyless-triage/0.1 (<triageId>)`. */
export function kubernetesUserAgent(triageId: string): string {
  return `${USER_AGENT_PRODUCT} (${triageId})`;
}

/** The AWS SDK's `customUserAgent` pairs; the SDK appends them as `keyless-triage/0.1 triage/<triageId>`. */
export function awsUserAgentPairs(triageId: string): [string, string][] {
  return [[...PRODUCT], ['triage', triageId]];
}

const KUBERNETES_UA = /^keyless-triage\/0\.1 \(([^\s()]{1,256})\)$/;
const AWS_UA = /(?:^|\s)triage\/([^\s/]{1,256})(?:\s|$)/;

/** The triage id a recorded User-Agent names, in either shape; undefined when it names none. */
export function triageIdOfUserAgent(userAgent: string | undefined): string | undefined {
  if (!userAgent) return undefined;
  return KUBERNETES_UA.exec(userAgent)?.[1] ?? AWS_UA.exec(userAgent)?.[1];
}
