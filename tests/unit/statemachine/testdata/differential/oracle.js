const jsonata = require('jsonata');
const fs = require('fs');
const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(l => l);
(async () => {
  const out = [];
  for (const line of lines) {
    const c = JSON.parse(line);
    const names = c.args.map((_, i) => '$a' + i);
    let expr;
    if (c.fn === 'roundtrip') expr = `[$toMillis($fromMillis($a0, $a1), $a1), $millis()]`;
    else if (c.fn === 'formatNumberOpt') expr = `[$formatNumber($a0, $a1, $a2), $millis()]`;
    else if (c.fn === 'toMillisPic') expr = `[$toMillis($a0, $a1), $millis()]`;
    else if (c.fn === 'toMillis' || c.fn === 'parseInteger') expr = `[$${c.fn}(${names.join(',')}), $millis()]`;
    else expr = `[$${c.fn}(${names.join(',')}), $millis()]`;
    const bindings = {};
    c.args.forEach((a, i) => bindings['a' + i] = a);
    let r;
    try {
      const v = await jsonata(expr).evaluate(null, bindings);
      const val = v[0];
      const now = v[1];
      if (v.length < 2 || val === undefined) r = {undefined: true, now: v[v.length - 1]};
      else if (typeof val === 'number' && isNaN(val)) r = {nan: true, now};
      else r = {result: val, now};
    } catch (e) {
      r = {error: e.code || ('JS:' + e.message)};
    }
    out.push(JSON.stringify(r));
  }
  fs.writeFileSync(process.argv[3], out.join('\n') + '\n');
})();
