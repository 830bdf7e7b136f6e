#!/bin/bash
# Split a canonical sweep over a Kubernetes Indexed Job and merge it when every shard is done.
#
#   tools/k8s/submit.sh <N> <preset> <image> [results dir, default results/k8s]
#
# Applies results-pvc.yaml (the shared ReadWriteMany volume), renders sweep-job.yaml with
# envsubst (N completions, pod i runs shard i/N) and applies it, waits for the Job to
# complete, then runs merge-job.yaml the same way. Rerunnable: the Jobs are replaced (a Job's
# pod template cannot change), the volume and its stage cache are kept, so done runs are reused.
# The results dir is relative to /app, the repository in the image, and must be inside
# results/ (the volume's mount point, and the tasks' --allow-write=results,/tmp).
set -euo pipefail

die() { echo "error: $*" >&2; exit 2; }
[[ $# -ge 3 && $# -le 4 ]] || die "usage: $0 <N> <preset> <image> [results dir]"
SHARDS=$1 PRESET=$2 IMAGE=$3 RESULTS=${4:-results/k8s}
[[ $SHARDS =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$SHARDS'"
[[ $RESULTS == results/* ]] || die "results dir must be inside results/, got '$RESULTS'"
for cmd in kubectl envsubst; do command -v "$cmd" >/dev/null || die "$cmd not found"; done
# A non-default preset's results go to canonical_<preset> (as `deno task sweep` names them).
EXPERIMENT=canonical
[[ $PRESET == default ]] || EXPERIMENT="canonical_$PRESET"
export SHARDS PRESET IMAGE RESULTS EXPERIMENT
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

render() { envsubst '${SHARDS} ${PRESET} ${RESULTS} ${IMAGE} ${EXPERIMENT}' <"$here/$1"; }

# Wait until a Job's Complete or Failed condition is true; fail on Failed.
wait_job() {
  local job=$1 state
  while :; do
    state=$(kubectl get job "$job" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
    case " $state " in
      *" Complete "*) echo "job $job complete" >&2; return 0 ;;
      *" Failed "*) die "job $job failed: kubectl describe job $job; kubectl logs -l job-name=$job" ;;
    esac
    sleep 10
  done
}

kubectl apply -f "$here/results-pvc.yaml"
kubectl delete job rlhf-sweep rlhf-merge --ignore-not-found
render sweep-job.yaml | kubectl apply -f -
echo "rlhf-sweep: $SHARDS shards of canonical --preset $PRESET into /app/$RESULTS" >&2
wait_job rlhf-sweep
render merge-job.yaml | kubectl apply -f -
wait_job rlhf-merge
echo "merged: $RESULTS/$EXPERIMENT/summary.csv on the rlhf-results volume" >&2
