#!/usr/bin/env python3
"""Edge-focused calls for the differential test (see gen.py for the procedure): grouping and digit
families in $formatInteger, rounding and options in $formatNumber, odd timezones in $fromMillis, and the
ISO 8601 forms $toMillis reads. Exponent pictures with values <= 0 are left out (jsonata-js 2.0.6 loops
forever on them).
"""
import json, random, sys
random.seed(int(sys.argv[1])); N=int(sys.argv[2])
for i in range(N):
    k = random.choice(["fi","fn","fm","tm","fno"])
    if k == "fi":
        pic = random.choice(["#,##0","##,##,##0","#:###,##0","0000","#0","٠","#,##٠","０,０００","##0;o","0,0","#,#,##0",",0","0,"]) 
        v = random.choice([0,1,12,123,1234,12345,123456,1234567,-12,-1234567,1e15,1e21,12.7,-0.3,111,112,113,101])
        print(json.dumps({"fn":"formatInteger","args":[v,pic]},ensure_ascii=False))
    elif k == "fn":
        pic = random.choice(["#,##0.00","0.000e0","#.#","0","#,###","00.00%","0.0\u2030","#,##0.###","0.00e00","##0.0#e0","#","0.0","0,000.0","#,##0.00;#,##0.00-"])
        v = random.choice([0.0001234,1e-10,123.456,1e15,1e20,1.5e25,-2.5,0.5,1.005,2.675,1234.5,999.995,-0.0001,12345678.9])
        if "e0" in pic and v <= 0:
            continue
        print(json.dumps({"fn":"formatNumber","args":[v,pic]},ensure_ascii=False))
    elif k == "fno":
        opts = random.choice([{"decimal-separator":",","grouping-separator":"."},{"zero-digit":"\u0660"},{"zero-digit":"A"},{"percent":"pc"},{"minus-sign":"~"},{"exponent-separator":"E"},{"digit":"X"},{"pattern-separator":"|"}])
        pic = random.choice(["#,##0.00","#.##0,00","0.000E0","X,XX0.00","AAA.AA","\u0660.\u0660\u0660","0.00pc","0.0e0","#,##0.00|(#,##0.00)"])
        v = random.choice([1234.567,-1234.567,0.123,42,-0.5])
        if ("e0" in pic or "E0" in pic) and v <= 0:
            continue
        print(json.dumps({"fn":"formatNumberOpt","args":[v,pic,opts]},ensure_ascii=False))
    elif k == "fm":
        pic = random.choice(["[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01][Z]","[H01]:[m01] [z]","[Z0]","[Z01]","[Z0101]","[Z01:01t]","[z0]","[Y]-[d001]","[X]-W[W01]-[F1] [x]/[w]","[D1o] [MNn] [Y] [h]:[m01][Pn]","[FNn,*-2] [MNn,*-4]","[Yw] [Mw] [Dwo]","[YI] [Mi] [DA]"])
        t = random.randint(-10**13, 4*10**12)
        tz = random.choice([None,"+0530","-0530","+05","0530","-0000","+1","+2359","-1200","+0045","-0045"])
        print(json.dumps({"fn":"fromMillis","args":[t,pic]+([tz] if tz else [])}))
    else:
        text = random.choice(["2018-03-23T10:33:36.617+0100","2018-03-23T10:33:36+01","2018-03-23T10:33:36.1Z","2018-03-23T10:33:36.12345Z","2018-03-23T23:59:59-2359","1970-01-01","2020-02-29","2019-02-29","2018-04-31","2018-03-23T10:33:36z","2018-03-23t10:33:36Z","+2018","2018-3-1","20180323","2018-03-23T10:33","2018-03-23T10:33:36.Z"])
        print(json.dumps({"fn":"toMillis","args":[text]}))
