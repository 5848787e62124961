#!/usr/bin/env bash
# Install the report site's Node packages exactly as package-lock.json pins them for this platform, without
# writing any tracked file (docs/reports.md, "Installing").
#
# Why not `npm ci`: the npm registry serves other platforms' optional binaries (@rollup/rollup-darwin-*,
# @duckdb/node-bindings-win32-*, ...) differently from day to day and from machine to machine, and `npm ci`
# refuses any lock that does not list exactly what that registry serves ("Missing: ... from lock file").
# `npm install --no-save` installs the locked tree, resolves only what the lock lacks (other platforms'
# optional packages, which are then skipped for this platform) and never writes package.json or the lock.
# What is installed is then verified against the lock, package by package (scripts/verify-install.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(sha256sum package.json package-lock.json)
npm install --no-save --no-audit --no-fund --prefer-offline --loglevel=error
if ! echo "$before" | sha256sum --check --quiet - ; then
  echo "npm modified package.json or package-lock.json although --no-save was given: refusing this install" >&2
  exit 1
fi
node scripts/verify-install.mjs
node scripts/patch-evidence.mjs --check
