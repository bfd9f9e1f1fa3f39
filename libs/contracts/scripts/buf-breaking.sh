#!/usr/bin/env bash
# buf breaking on the protos: a change must not break a client or server built from main.
# It compares with the commit where this branch left main, so what main gained since is not
# counted as a removal here. On main itself that is HEAD, so it compares with the commit
# before (after a merge: main without the branch). Rules: buf.yaml's `breaking` section.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! root=$(git rev-parse --show-toplevel 2>/dev/null); then
  echo 'buf breaking: skipped, not in a git checkout'
  exit 0
fi

# A local main, or, in a clone of another branch (as CI makes), the clone's origin/main.
main=''
for ref in main origin/main; do
  if git rev-parse --quiet --verify "$ref^{commit}" >/dev/null; then
    main=$ref
    break
  fi
done
if [ -z "$main" ]; then
  echo 'buf breaking: skipped, no main or origin/main here (a shallow clone of one branch?)'
  exit 0
fi
if ! base=$(git merge-base HEAD "$main"); then
  echo "buf breaking: skipped, HEAD and $main share no history here (a shallow clone?)"
  exit 0
fi
if [ "$base" = "$(git rev-parse HEAD)" ] && git rev-parse --quiet --verify 'HEAD~^{commit}' >/dev/null; then
  base=$(git rev-parse 'HEAD~')
fi

echo "buf breaking: against $(git log -1 --format='%h %s' "$base")"
buf breaking --against "$root/.git#ref=$base,subdir=libs/contracts"
