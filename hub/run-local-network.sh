#!/usr/bin/env bash
# Runs a local network on its embedded defaults: one hub and one spoke (東京大学医学部附属病院,
# CORE-004) with generated development certificates, the seeded directory and a demo expert.
# Everything lives in .rcn/ at the repository root; delete it to start afresh. Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
data=".rcn"
hub_url="https://127.0.0.1:5443"
mkdir -p "$data"

echo "Building..."
dotnet build RareCancerNetwork.sln -v quiet -nologo >/dev/null
hub="dotnet hub/RareCancerNetwork.Hub/bin/Debug/net10.0/RareCancerNetwork.Hub.dll --data $data/hub --hub-url $hub_url"
spoke="dotnet spoke/RareCancerNetwork.Spoke/bin/Debug/net10.0/RareCancerNetwork.Spoke.dll"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$hub run > "$data/hub.log" 2>&1 &
pids+=($!)
until grep -q "Hub listening on" "$data/hub.log"; do
  if ! kill -0 "${pids[0]}" 2>/dev/null; then cat "$data/hub.log"; exit 1; fi
  sleep 0.5
done
grep -E "Hub (data folder|listening)|Development CA" "$data/hub.log"

if [ ! -f "$data/spoke.json" ]; then
  # The spoke makes its own key pair; the hub registers only its certificate (mutual TLS, RFC 8705).
  $spoke node-certificate --data "$data/spoke" --node-id spoke-tokyo >/dev/null
  $hub register-spoke --node-id spoke-tokyo --facility CORE-004 --certificate "$data/spoke/keys/node-client.crt" --write-config "$data/spoke.json" >/dev/null
  $hub register-local-client --node-id spoke-tokyo --name pathology --display-name 病理診断科 --write-config "$data/cli-profile.json" >/dev/null
  $hub register-expert --expert-id demo-expert --name "佐藤 花子" --specialty soft_tissue bone --write-config "$data/expert.json" >/dev/null
  # A demo pathologist who signs in with the device flow ('spoke login'); the password is for local use only.
  echo "local-demo-password" | $hub add-user --user-id yamada --name "山田 太郎" --role pathologist --facility CORE-004 >/dev/null
  # The example trial catalogue (marked as examples, not registered studies), so that matching has something to find.
  $hub directory trials load docs/examples/trials.json >/dev/null
  echo "Registered spoke-tokyo (CORE-004), a local client, the expert demo-expert and the pathologist yamada (password: local-demo-password); loaded the example trials."
fi
# A stand-in for a whole-slide image (random bytes, 24 MiB), to attach to the example consultation.
[ -f "$data/HE-1.svs" ] || head -c $((24 * 1024 * 1024)) /dev/urandom > "$data/HE-1.svs"

$spoke run --config "$data/spoke.json" --data "$data/spoke" > "$data/spoke.log" 2>&1 &
pids+=($!)
until grep -q "Spoke listening on" "$data/spoke.log"; do
  if ! kill -0 "${pids[1]}" 2>/dev/null; then cat "$data/spoke.log"; exit 1; fi
  sleep 0.5
done
grep -E "Spoke listening" "$data/spoke.log"

cat <<TXT

The network is running (logs: $data/hub.log, $data/spoke.log). In another terminal:
  $spoke login                                              # sign in as yamada on the page it shows
  $spoke submit --file docs/examples/consultation.json --attach $data/HE-1.svs   # a pathologist submits, with a slide
  $spoke list                                               # ... and follows it
  dotnet hub/RareCancerNetwork.Hub/bin/Debug/net10.0/RareCancerNetwork.Hub.dll expert list --profile $data/expert.json
  dotnet hub/RareCancerNetwork.Hub/bin/Debug/net10.0/RareCancerNetwork.Hub.dll expert download <id> --to $data/downloads --profile $data/expert.json
  dotnet hub/RareCancerNetwork.Hub/bin/Debug/net10.0/RareCancerNetwork.Hub.dll expert report <id> --file docs/examples/report.json --profile $data/expert.json
  $spoke show <id>                                          # the signed report, back at the spoke
  $spoke directory facilities --region Kanto                # the directory, from the spoke's own copy
  $spoke directory trials                                   # the trial catalogue
  $spoke registry create --file docs/examples/registry-record.json, then $spoke registry match <record-id>
Press Ctrl+C to stop.
TXT
wait -n "${pids[@]}"
