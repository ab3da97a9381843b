#!/usr/bin/env bash
# Creates (or brings up to date) the worker's IAM role and binds it to the
# worker's ServiceAccount with an EKS Pod Identity association.
#
#   deploy/iam/create-role.sh --account-id 111122223333 --region eu-west-1 --cluster prod
#   deploy/iam/create-role.sh ... --dry-run     # print the commands and the rendered policies only
#
# Every value can also come from the environment (flags win):
#   ACCOUNT_ID, REGION (or AWS_REGION), CLUSTER, ROLE_NAME, NAMESPACE,
#   SERVICE_ACCOUNT, PARTITION, PERMISSIONS_BOUNDARY_ARN, DRY_RUN=1
#
# trust-policy.json holds placeholders (account 111122223333, region eu-west-1,
# cluster "prod"); the script renders it with the values above and never edits
# it. permissions-policy.json is applied as it is: it is rendered from the
# triage configuration, whose CloudWatch regions it allows, by
#   npx triage iam --config <triage.yaml> --out deploy/iam/permissions-policy.json
# so re-render it (or check it with --check) before running this.
#
# It needs the AWS CLI v2 with credentials of an administrator allowed to call
# iam:CreateRole/UpdateAssumeRolePolicy/PutRolePolicy/UpdateRole/TagRole,
# iam:PassRole on the role, and
# eks:DescribeCluster/ListPodIdentityAssociations/CreatePodIdentityAssociation/
# UpdatePodIdentityAssociation on the cluster. See docs/aws-iam.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<'USAGE'
usage: create-role.sh --account-id ID --region REGION --cluster NAME [options]

  --account-id ID            12-digit account that owns the cluster and the role
  --region REGION            the cluster's region, e.g. eu-west-1
  --cluster NAME             the EKS cluster name
  --role-name NAME           default: keyless-triage-worker
  --namespace NS             default: keyless-triage
  --service-account NAME     default: keyless-triage-worker
  --partition P              default: aws (aws-cn, aws-us-gov)
  --permissions-boundary ARN attach this managed policy as the role's boundary
  --dry-run                  print what would run; call nothing
  -h, --help

The permissions policy's CloudWatch regions come from the triage configuration:
render deploy/iam/permissions-policy.json with `npx triage iam --config <file> --out <it>`.
USAGE
}

ACCOUNT_ID="${ACCOUNT_ID:-}"
REGION="${REGION:-${AWS_REGION:-}}"
CLUSTER="${CLUSTER:-}"
ROLE_NAME="${ROLE_NAME:-keyless-triage-worker}"
NAMESPACE="${NAMESPACE:-keyless-triage}"
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-keyless-triage-worker}"
PARTITION="${PARTITION:-aws}"
PERMISSIONS_BOUNDARY_ARN="${PERMISSIONS_BOUNDARY_ARN:-}"
DRY_RUN="${DRY_RUN:-0}"

die() {
  echo "create-role.sh: $*" >&2
  exit 2
}

need_value() {
  [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --account-id) need_value "$@"; ACCOUNT_ID="$2"; shift 2 ;;
    --region) need_value "$@"; REGION="$2"; shift 2 ;;
    --cluster) need_value "$@"; CLUSTER="$2"; shift 2 ;;
    --metric-regions) die "--metric-regions is gone: the regions come from the triage configuration; render the policy with: npx triage iam --config <triage.yaml> --out deploy/iam/permissions-policy.json" ;;
    --role-name) need_value "$@"; ROLE_NAME="$2"; shift 2 ;;
    --namespace) need_value "$@"; NAMESPACE="$2"; shift 2 ;;
    --service-account) need_value "$@"; SERVICE_ACCOUNT="$2"; shift 2 ;;
    --partition) need_value "$@"; PARTITION="$2"; shift 2 ;;
    --permissions-boundary) need_value "$@"; PERMISSIONS_BOUNDARY_ARN="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

# The values are substituted into JSON and ARNs, so each is checked against
# the shape AWS and Kubernetes allow before anything is rendered.
[[ "$ACCOUNT_ID" =~ ^[0-9]{12}$ ]] || die "--account-id must be 12 digits (got '${ACCOUNT_ID}')"
region_re='^[a-z]{2}(-[a-z]+)+-[0-9]$'
[[ "$REGION" =~ $region_re ]] || die "--region must look like eu-west-1 (got '${REGION}')"
[[ "$CLUSTER" =~ ^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$ ]] || die "--cluster must be an EKS cluster name (got '${CLUSTER}')"
[[ "$ROLE_NAME" =~ ^[A-Za-z0-9+=,.@_-]{1,64}$ ]] || die "--role-name is not a valid IAM role name"
[[ "$NAMESPACE" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "--namespace must be a DNS label"
[[ "$SERVICE_ACCOUNT" =~ ^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$ ]] || die "--service-account must be a DNS subdomain"
[[ "$PARTITION" =~ ^aws(-cn|-us-gov)?$ ]] || die "--partition must be aws, aws-cn or aws-us-gov"
if [[ -n "$PERMISSIONS_BOUNDARY_ARN" && ! "$PERMISSIONS_BOUNDARY_ARN" =~ ^arn:aws(-cn|-us-gov)?:iam::([0-9]{12}|aws):policy/.+$ ]]; then
  die "--permissions-boundary must be an IAM managed policy ARN"
fi
# A region list from the environment would silently disagree with the rendered file.
[[ -z "${METRIC_REGIONS:-}" ]] || die "METRIC_REGIONS is gone: the regions come from the triage configuration; render the policy with: npx triage iam --config <triage.yaml> --out deploy/iam/permissions-policy.json"

cluster_arn="arn:${PARTITION}:eks:${REGION}:${ACCOUNT_ID}:cluster/${CLUSTER}"
role_arn="arn:${PARTITION}:iam::${ACCOUNT_ID}:role/${ROLE_NAME}"
policy_name="keyless-triage-read-only"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Placeholders are replaced as whole JSON strings, so a value can only land
# where the placeholder stood.
sed \
  -e "s|\"arn:aws:eks:eu-west-1:111122223333:cluster/prod\"|\"${cluster_arn}\"|" \
  -e "s|\"111122223333\"|\"${ACCOUNT_ID}\"|" \
  -e "s|\"aws:RequestTag/kubernetes-namespace\": \"keyless-triage\"|\"aws:RequestTag/kubernetes-namespace\": \"${NAMESPACE}\"|" \
  -e "s|\"aws:RequestTag/kubernetes-service-account\": \"keyless-triage-worker\"|\"aws:RequestTag/kubernetes-service-account\": \"${SERVICE_ACCOUNT}\"|" \
  "${here}/trust-policy.json" >"${work}/trust-policy.json"
cp "${here}/permissions-policy.json" "${work}/permissions-policy.json"
# For the summary only: the regions the rendered policy allows (none when no
# service reads CloudWatch, and the policy denies it instead).
metric_regions="$(sed -n '/"aws:RequestedRegion"/,/]/p' "${work}/permissions-policy.json" | grep -o '"[^"]*"' | grep -v RequestedRegion | tr -d '"' | paste -sd, - || true)"

# A placeholder that did not match (the file was reformatted) must not slip through.
for expected in "\"aws:SourceAccount\": \"${ACCOUNT_ID}\"" "\"${cluster_arn}\"" \
  "\"aws:RequestTag/kubernetes-namespace\": \"${NAMESPACE}\"" \
  "\"aws:RequestTag/kubernetes-service-account\": \"${SERVICE_ACCOUNT}\""; do
  grep -qF -- "$expected" "${work}/trust-policy.json" || die "rendering the trust policy failed at ${expected}; was trust-policy.json reformatted?"
done

echo "role:             ${role_arn}"
echo "cluster:          ${cluster_arn}"
echo "service account:  ${NAMESPACE}/${SERVICE_ACCOUNT}"
echo "metric regions:   ${metric_regions:-none (the permissions policy denies CloudWatch)}"
echo "--- trust policy (rendered)"
cat "${work}/trust-policy.json"
echo "--- permissions policy (inline policy ${policy_name}, as triage iam rendered it)"
cat "${work}/permissions-policy.json"
echo "---"

# Prints each command before running it; with --dry-run, only prints it.
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [[ "$DRY_RUN" != 1 ]]; then
    "$@"
  fi
}

if [[ "$DRY_RUN" != 1 ]]; then
  command -v aws >/dev/null || die "the AWS CLI (v2) is not on PATH"
  # The ARN AWS reports must be the one the trust policy names, or no pod
  # could ever assume the role.
  actual_arn="$(aws eks describe-cluster --region "$REGION" --name "$CLUSTER" --query cluster.arn --output text)"
  [[ "$actual_arn" == "$cluster_arn" ]] || die "cluster ARN is ${actual_arn}, expected ${cluster_arn} (check --account-id/--region/--partition)"
fi

if [[ "$DRY_RUN" != 1 ]] && aws iam get-role --role-name "$ROLE_NAME" >/dev/null 2>&1; then
  echo "role ${ROLE_NAME} exists: replacing its trust policy and session limit"
  run aws iam update-assume-role-policy --role-name "$ROLE_NAME" \
    --policy-document "file://${work}/trust-policy.json"
  run aws iam update-role --role-name "$ROLE_NAME" --max-session-duration 3600
else
  run aws iam create-role --role-name "$ROLE_NAME" \
    --description "keyless-triage worker: read-only CloudWatch metrics via EKS Pod Identity" \
    --assume-role-policy-document "file://${work}/trust-policy.json" \
    --max-session-duration 3600 \
    --tags Key=app,Value=keyless-triage Key=component,Value=worker
fi

# Inline: the policy lives and dies with the role and cannot be attached elsewhere.
run aws iam put-role-policy --role-name "$ROLE_NAME" --policy-name "$policy_name" \
  --policy-document "file://${work}/permissions-policy.json"

if [[ -n "$PERMISSIONS_BOUNDARY_ARN" ]]; then
  run aws iam put-role-permissions-boundary --role-name "$ROLE_NAME" \
    --permissions-boundary "$PERMISSIONS_BOUNDARY_ARN"
fi

existing=""
if [[ "$DRY_RUN" != 1 ]]; then
  existing="$(aws eks list-pod-identity-associations --region "$REGION" --cluster-name "$CLUSTER" \
    --namespace "$NAMESPACE" --service-account "$SERVICE_ACCOUNT" \
    --query 'associations[0].associationId' --output text)"
  [[ "$existing" != None ]] || existing=""
fi

if [[ -n "$existing" ]]; then
  echo "association ${existing} exists for ${NAMESPACE}/${SERVICE_ACCOUNT}: pointing it at ${role_arn}"
  run aws eks update-pod-identity-association --region "$REGION" --cluster-name "$CLUSTER" \
    --association-id "$existing" --role-arn "$role_arn" --no-disable-session-tags
else
  run aws eks create-pod-identity-association --region "$REGION" --cluster-name "$CLUSTER" \
    --namespace "$NAMESPACE" --service-account "$SERVICE_ACCOUNT" \
    --role-arn "$role_arn" \
    --tags app=keyless-triage,component=worker
fi

echo "done. Pods pick up the association when they start: restart the worker Deployment,"
echo "then check the role it reports (triage doctor) - see docs/aws-iam.md."
