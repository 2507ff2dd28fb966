#!/bin/sh
# Once the server answers: the namespace the worker uses (temporalio/server, unlike auto-setup, creates none) and the
# campaign search attributes. Safe to run again. Runs in temporalio/admin-tools (the temporal CLI).
set -eu
NS="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health >/dev/null 2>&1; do sleep 1; done
temporal operator namespace describe --namespace "$NS" >/dev/null 2>&1 ||
  temporal operator namespace create --namespace "$NS" --retention 30d
# The campaign search attributes (src/shared/search-attributes.ts). Creating one that exists is refused: ignore that.
for attr in "$@"; do
  name="${attr%%:*}" type="${attr#*:}"
  temporal operator search-attribute create --namespace "$NS" --name "$name" --type "$type" 2>/dev/null ||
    echo "search attribute $name exists"
done
temporal operator search-attribute list --namespace "$NS"
