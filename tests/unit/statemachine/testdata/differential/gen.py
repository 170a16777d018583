#!/usr/bin/env python3
"""Random calls of the JSONata formatting functions, for a differential test against jsonata-js 2.0.6.

How jsonata_format_differential.jsonl was made (not part of the build; needs node and npm):
  npm install jsonata@2.0.6                       # in a scratch directory
  python3 gen.py 7 4000 > calls.jsonl             # seed, count
  node oracle.js calls.jsonl answers.jsonl        # jsonata-js's answers, with its $millis() as "now"
  python3 build_dataset.py calls.jsonl answers.jsonl > ../jsonata_format_differential.jsonl
  # then the same with gen2.py 11 3000, appended (>>)

Each call is {"fn", "args"}; fn "roundtrip" is $toMillis($fromMillis(t, picture), picture) and
"toMillisPic" is $toMillis(text, picture).
"""
import json, random, sys
random.seed(int(sys.argv[1]))
N = int(sys.argv[2])
num_alpha = ["0","0","0","#","#",",",".","e","%","\u2030",";","-","9","1"," ","$"]
int_alpha = ["0","0","#","#",",",":","1","\u0661",";o",";","a","A","i","I","w","W","Ww"]
dt_alpha = ["[Y]","[Y0001]","[Y,2]","[M01]","[M]","[MNn]","[MN,3-3]","[D01]","[D1o]","[Dw]","[d]","[F]","[FNn]","[W]","[w]","[X]","[x]","[xNn]","[H01]","[h]","[P]","[PN]","[m01]","[m]","[s01]","[f001]","[Z]","[Z0]","[Z0101t]","[z]","[YI]","[Yw]","[Da]","[E]","[C]","-","/",":"," ","T","[[","]]","x","[Y##01,2-2]","[D#1,2]","[H01,3]"]
vals = [0, 1, -1, 0.5, 1.5, 2.5, 123.456, -123.456, 1234567.891, 0.001234, 99.5, 1e21, 1e-7, 12345678901234, 7, 12, 13, 21, 111, 1999, 3.14159, -0.75]
times = [0, 1521801216617, -2777932800000, 1204405500000, 1419854400000, 1451563200000, 1359720000000, 1483272000000, 951782400000, -1, 86399999, 1704067199999]
tzs = [None, "+0530", "-0500", "+0000", "-0130", "+1200"]
out = []
for i in range(N):
    k = random.choice(["formatNumber", "formatInteger", "parseInteger", "fromMillis", "toMillis", "formatBase", "string", "roundtrip", "parsePic", "parsePic"])
    if k == "parsePic":
        pic = "".join(random.choice(["[Y]","[Y0001]","[M]","[M01]","[MNn]","[MNn,3-3]","[D]","[D1o]","[Dw]","[d]","[d001]","[H]","[H01]","[h]","[P]","[m]","[m01]","[s]","[f001]","[Z]","[z]","[Z0001]","[YI]","[Yw]","[X]","[W]","[F1]","[FNn]","-"," ",":","/","T"]) for _ in range(random.randint(1, 6)))
        text = "".join(random.choice(["2018","18","03","3","12","23","23rd","March","Mar","Friday","am","pm","PM","+05:30","-0500","GMT-5","-","/",":"," ","T","twenty-third","MMXVIII","two thousand and eighteen","094","617","1","00"]) for _ in range(random.randint(1, 7)))
        out.append({"fn": "toMillisPic", "args": [text, pic]})
        continue
    if k == "formatNumber":
        if random.random() < 0.6:
            integer = random.choice(["0", "00", "#0", "#,##0", "##,##0", "#,###,##0", "0,000", "#", "9,9,99", "###0", "", "#,##,##0"])
            fraction = random.choice(["", ".", ".0", ".00", ".##", ".0#", ".000###", ".0,00", ".###,###"])
            exponent = random.choice(["", "", "", "e0", "e00", "e000"])
            suffix = random.choice(["", "", "%", "‰", " EUR", "pm"])
            prefix = random.choice(["", "", "$", "PREFIX "])
            pic = prefix + integer + fraction + exponent + suffix
            if random.random() < 0.2:
                pic += ";" + "(" + integer + fraction + ")"
        else:
            pic = "".join(random.choice(num_alpha) for _ in range(random.randint(1, 9)))
        v = random.choice(vals) * random.choice([1, 1, 10, 0.01, 1000])
        if "e" in pic and v <= 0:
            continue
        out.append({"fn": k, "args": [v, pic]})
    elif k == "formatInteger":
        pic = "".join(random.choice(int_alpha) for _ in range(random.randint(1, 5)))
        v = random.choice(vals) * random.choice([1, 1, 100, 12345])
        out.append({"fn": k, "args": [v, pic]})
    elif k == "parseInteger":
        pic = random.choice(["0", "#,##0", "w", "W", "Ww", "i", "I", "a", "A", "0;o", "w;o", "000"])
        text = random.choice(["12", "1,234", "twelve", "one hundred and one", "xiv", "MMXIX", "ab", "ZZ", "21st", "one thousand, two hundred", "seventeen", "4th", "", "x"])
        out.append({"fn": k, "args": [text, pic]})
    elif k == "fromMillis":
        pic = "".join(random.choice(dt_alpha) for _ in range(random.randint(1, 6)))
        t = random.choice(times) + random.randint(-10**9, 10**9) * random.choice([0, 1, 1000])
        tz = random.choice(tzs)
        out.append({"fn": k, "args": [t, pic] + ([tz] if tz else [])})
    elif k == "roundtrip":
        pic = "".join(random.choice(dt_alpha) for _ in range(random.randint(1, 6)))
        t = random.choice(times) + random.randint(-10**9, 10**9) * random.choice([0, 1, 1000])
        out.append({"fn": k, "args": [t, pic]})
    elif k == "toMillis":
        text = random.choice(["2018", "2018-03", "2018-03-23", "2018-03-23T10:33:36Z", "2018-03-23T10:33:36.617+01:00", "2018-03-23T10:33:36.6179-0500", "2018-02-30", "2018-13-01", "2018-03-23T24:00:00", "2018-03-23T10:33:36", "1999-12-31T23:59:59.999Z", "0001-01-01"])
        out.append({"fn": k, "args": [text]})
    elif k == "formatBase":
        out.append({"fn": k, "args": [random.choice(vals) * random.choice([1, 1000, 1e6, 1e20]), random.choice([2, 8, 10, 16, 36, 2.5, 7])]})
    else:
        out.append({"fn": k, "args": [random.choice(vals) * random.choice([1, 1e-10, 1e15, 1e25, 1/3])]})
for c in out:
    print(json.dumps(c, ensure_ascii=False))
