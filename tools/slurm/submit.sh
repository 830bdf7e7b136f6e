#!/bin/bash
# Split a canonical sweep over a Slurm array and merge it when every shard has succeeded.
#
#   tools/slurm/submit.sh <N> <preset> <results dir> [sbatch options...]
#
# e.g. tools/slurm/submit.sh 8 default results/slurm-default --partition=cpu --time=02:00:00
#
# Submits sweep_array.sbatch as an array 0..N-1 (shard i/N each) and merge.sbatch with
# --dependency=afterok:<array job>; extra options go to both sbatch calls. The results dir is
# relative to the repository root (jobs run there) and must lie inside its results/ (the tasks'
# --allow-write=results,/tmp), on a filesystem every node sees. Logs: <results dir>/slurm-logs/.
# Prints "<array job id> <merge job id>" on stdout; what it did on stderr.
set -euo pipefail

die() { echo "error: $*" >&2; exit 2; }
[[ $# -ge 3 ]] || die "usage: $0 <N> <preset> <results dir> [sbatch options...]"
shards=$1 preset=$2 results=$3
shift 3
[[ $shards =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$shards'"
[[ -n $preset ]] || die "preset must not be empty"
command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm submit host"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
abs=$results
[[ $abs == /* ]] || abs="$root/$results"
case "$(realpath -m "$abs")/" in
  "$(realpath -m "$root/results")"/*) ;;
  /tmp/*) echo "note: $results is under /tmp, which is node-local on most clusters" >&2 ;;
  *) die "results dir must be inside $root/results (or /tmp), got '$results'" ;;
esac
logs="$abs/slurm-logs"
mkdir -p "$logs" # Slurm does not create the directories of --output files

array=$(sbatch --parsable --array="0-$((shards - 1))" --chdir="$root" \
  --output="$logs/sweep-%A_%a.out" "$@" \
  "$here/sweep_array.sbatch" "$shards" "$preset" "$results")
array=${array%%;*} # --parsable prints "id" or "id;cluster"
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --chdir="$root" --output="$logs/merge-%j.out" "$@" \
  "$here/merge.sbatch" "$results" "$preset")
merge=${merge%%;*}
echo "array job $array: shards 0..$((shards - 1)) of $shards ($preset); merge job $merge after it" >&2
echo "$array $merge"
