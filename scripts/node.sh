#!/usr/bin/env bash
# Runs a command with a Node.js >= 22.19 first on PATH (scripts/ensure-node.sh: the machine's node when it is
# new enough, else a cached official binary), so `npm test` and the other npm scripts work from a machine
# whose own Node is older (the tools' `#!/usr/bin/env node` then finds the new one).
set -euo pipefail
dir=$(bash "$(dirname "${BASH_SOURCE[0]}")/ensure-node.sh")
PATH="$dir:$PATH" exec "$@"
