#!/usr/bin/env bash
# Strips the whole corpus and judges the outputs with Pillow; prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
node dist/bin/main.js strip ../shared/corpus -o "$out/c" --json > "$out/c.json" 2>"$out/c.err" || true
tail -1 "$out/c.err"
node -e '
const r=JSON.parse(require("fs").readFileSync(process.argv[1]));
console.log(JSON.stringify(r.filter(x=>/\.(jpe?g|png|webp|gif)$/i.test(x.input)||x.status==="clean").map(x=>({input:x.input,output:x.output}))))' "$out/c.json" > "$out/pairs.json"
/usr/bin/python3 test/judge/pixels.py < "$out/pairs.json" > "$out/judge.json"
node -e '
const fs=require("fs");const j=JSON.parse(fs.readFileSync(process.argv[1]));
const r=new Map(JSON.parse(fs.readFileSync(process.argv[2])).map(x=>[x.input,x]));
let loads=0;const refusedLoads=[],neq=[],notup=[];
for(const x of j){ if(!x.loads) continue; loads++; const s=r.get(x.input);
 if(s.status==="refused") refusedLoads.push(x.input+" "+s.error.message.slice(0,90));
 else { if(!x.equal) neq.push(x.input+" "+(x.error||"")); if(!x.upright) notup.push(x.input+" "+x.orientation_in+" "+x.orientation_out+" "+(x.error||""));}}
console.log("Pillow loads",loads,"of which refused",refusedLoads.length);console.log(refusedLoads.join("\n"));
console.log("pixels differ",neq.length);console.log(neq.join("\n"));console.log("not upright",notup.length);console.log(notup.join("\n"))' "$out/judge.json" "$out/c.json"
echo "$out"
