# bench/report.jq - bench/results/latest.json -> Markdown (jq -r -f)

def f3: if . == null then "-" else (. * 1000 | round / 1000 | tostring) end;
def f2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
def esc: tostring | gsub("\\|"; "\\|") | gsub("\n"; " ");

def latency($s):
  ($s.rows | map(select(.id == $s.headline)) | first) as $head |
  "## \($s.title)\n",
  "\(if $s.interleaved then "All peers back to back in one hyperfine run per round, \($s.rounds) round\(if $s.rounds > 1 then "s, times pooled" else "" end)" else "Peers measured one by one (the combined run failed)" end); warmup \($s.warmup), \($s.runs) runs per peer; times in ms.\n",
  "| id | peer | median | min | max | mean ± σ | \($s.headline // "vert")/peer |",
  "|---|---|---:|---:|---:|---:|---:|",
  ($s.rows[] as $r |
    if $r.available then
      ($s.ratios | map(select(.den == $r.id)) | first) as $ra |
      if ($r.derived // false) then
        "| `\($r.id)` | \($r.label | esc) | \($r.median_ms | f3) | | | (derived) | \(if $ra then "\($ra.ratio | f2)x" else "" end) |"
      else
        "| `\($r.id)` | \($r.label | esc) | **\($r.median_ms | f3)** | \($r.min_ms | f3) | \($r.max_ms | f3) | \($r.mean_ms | f2) ± \($r.stddev_ms | f2) | \(if $ra then "\($ra.ratio | f2)x" elif $r.id == $s.headline then "1x" elif ($r.baseline // false) then "(reference)" else "" end) |"
      end
    else
      "| `\($r.id)` | \($r.label | esc) | unavailable | | | \($r.reason | esc) | |"
    end),
  "",
  (if ($s.targets | length) > 0 then
    "Targets (informational):\n",
    ($s.targets[] |
      "- \(.num)/\(.den) ≤ \(.limit)x (\(.text)): " +
      (if .status == "N/A" then "N/A (\(.reason))"
       else "**\(.status)** (\(.ratio | f2)x)" end)),
    ""
  else empty end),
  (if ($s.notes | length) > 0 then ($s.notes[] | "- \(.)"), "" else empty end),
  "<details><summary>commands</summary>\n",
  ($s.rows[] | select(.command != null and .command != "") | "- `\(.id)`: `\(.command)`"),
  "\n</details>\n";

def metrics($s):
  ($s.metrics | map(.peer) | unique | (map(select(. == "vert")) + map(select(. != "vert")))) as $peers |
  ($s.metrics | map({metric, unit}) | unique_by(.metric)) as $ms |
  ($s.metrics | map(.metric) | reduce .[] as $m ([]; if index([$m]) then . else . + [$m] end)) as $order |
  "## \($s.title)\n",
  (if ($peers | length) > 0 then
    "| metric | unit | \($peers | join(" | ")) |",
    "|---|---|\($peers | map("---:") | join("|"))|",
    ($order[] as $m |
      ($ms | map(select(.metric == $m)) | first.unit) as $u |
      "| \($m) | \($u) | " +
      ($peers | map(. as $p | ($s.metrics | map(select(.peer == $p and .metric == $m)) | first.value) |
         if . == null then "-" elif type == "number" then f2 else tostring end) | join(" | ")) + " |"),
    ""
  else "No peer produced numbers.\n" end),
  (if (($s.targets // []) | length) > 0 then
    "Targets (informational):\n",
    ($s.targets[] |
      "- \(.text): " +
      (if .status == "N/A" then "N/A (not measured)"
       else "**\(.status)** (\(.value | if type == "number" then f2 else tostring end) \(.unit); limit \(.op) \(.limit))" end)),
    ""
  else empty end),
  ($s.unavailable[] | "- \(.peer): unavailable: \(.reason)"),
  (if ($s.unavailable | length) > 0 then "" else empty end),
  (if ($s.notes | length) > 0 then ($s.notes[] | "- \(.)"), "" else empty end);

def compare($s):
  "## \($s.title)\n",
  "| operation | \($s.peers | map(. + " median (min–max)") | join(" | ")) | \($s.peers[1:] | map("\($s.base)/" + .) | join(" | ")) |",
  "|---|\($s.peers | map("---:") | join("|"))|\($s.peers[1:] | map("---:") | join("|"))|",
  ($s.ops[] as $o |
    "| \($o.label | esc) | " +
    ($s.peers | map(. as $p | ($s.cells | map(select(.peer == $p and .op == $o.op)) | first) |
       if . == null then "-"
       elif .available then "**\(.median_ms | f2)** (\(.min_ms | f2)–\(.max_ms | f2))"
       else "unavailable: \(.reason | esc)" end) | join(" | ")) + " | " +
    ($s.peers[1:] | map(. as $p | ($s.ratios | map(select(.den == $p and .op == $o.op)) | first) |
       if . == null then "" else "\(.ratio | f2)x" end) | join(" | ")) + " |"),
  "",
  (if ($s.notes | length) > 0 then ($s.notes[] | "- \(.)"), "" else empty end),
  "<details><summary>commands</summary>\n",
  ($s.cells[] | select(.command != null and .command != "") | "- `\(.peer)` \(.op): `\(.command)`"),
  "\n</details>\n";

"# vert benchmarks\n",
"\(.meta.date) · \(.meta.host) · \(.meta.cpu) · \(.meta.cores) cores · \(.meta.memory) · kernel \(.meta.versions.kernel)",
"",
"- cgroups: \(.meta.cgroups)",
"- load average (1/5/15 min) at start: \(.meta.loadavg_start), at end: \(.meta.loadavg_end) (on 2 cores, anything well above 0 means other work shared the CPUs)",
"- rootfs (shared by all peers): \(.meta.rootfs)",
"- density N: \(.meta.density_n | map(tostring) | join(", ")); machine shared with other engineers' builds and tests (see load average): compare ratios from one run",
"- hyperfine: \(.meta.versions.hyperfine), warmup \(.meta.warmup), runs \(.meta.runs) per peer in \(.meta.rounds) round(s)\(if .meta.quick then " (--quick)" else "" end)",
"- versions: \(.meta.versions | to_entries | map(select(.key != "kernel" and .key != "hyperfine")) | map("\(.key) `\(.value)`") | join(", "))",
"- ratios are vert/peer by median; < 1 means vert is faster. Benchmarks are informational: nothing fails on a time.",
"",
(.scenarios[] | if .kind == "latency" then latency(.) elif .kind == "compare" then compare(.) else metrics(.) end)
