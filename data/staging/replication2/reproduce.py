"""Re-pool the Marchi 2022 targets from per_study.csv (standard library only) and compare with the published values.
Method = what the authors' script calls: meta::metacont(sm='SMD', method.tau='DL') -> Hedges g with the approximate
small-sample factor J = 1 - 3/(4N - 9) and RevMan/meta variance N/(n1 n2) + g^2/(2(N - 3.94)); DerSimonian-Laird
random effects, Wald 95% CI. Binary: metabin(sm='OR') -> Mantel-Haenszel common OR and DL random OR on log OR with
0.5 continuity correction in zero cells; studies with zero events in both arms dropped (meta default).
A variant with variance N/(n1 n2) + g^2/(2N) is also printed to show sensitivity to the variance formula.
Writes reproduction_check.csv."""
import csv, math
from collections import OrderedDict

def hedges(n1, m1, s1, n2, m2, s2, form="meta"):
    N = n1 + n2
    sp = math.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / (N - 2))
    g = (m1 - m2) / sp * (1 - 3 / (4 * N - 9))
    v = N / (n1 * n2) + g * g / (2 * (N - 3.94)) if form == "meta" else N / (n1 * n2) + g * g / (2 * N)
    return g, v

def dl(y, v):
    w = [1 / x for x in v]; sw = sum(w); fe = sum(a * b for a, b in zip(w, y)) / sw
    Q = sum(a * (b - fe) ** 2 for a, b in zip(w, y)); k = len(y)
    t2 = max(0.0, (Q - (k - 1)) / (sw - sum(a * a for a in w) / sw))
    wr = [1 / (x + t2) for x in v]; swr = sum(wr); re = sum(a * b for a, b in zip(wr, y)) / swr; se = math.sqrt(1 / swr)
    return dict(k=k, fe=fe, fe_se=math.sqrt(1 / sw), re=re, lo=re - 1.959964 * se, hi=re + 1.959964 * se, tau2=t2, Q=Q,
                I2=max(0.0, (Q - (k - 1)) / Q) if Q > 0 else 0.0)

rows = list(csv.DictReader(open("per_study.csv")))
tg = {r["target_id"]: r for r in csv.DictReader(open("targets.csv"))}
by = OrderedDict()
for r in rows:
    by.setdefault(r["target_id"], OrderedDict()).setdefault(r["trial"], {})[r["arm"]] = r

out = []
for tid, trials in by.items():
    if not tid.startswith("marchi2022"): continue
    t = tg[tid]; binary = trials and list(trials.values())[0]["treatment"]["events"] != ""
    if not binary:
        for form in ("meta", "simple"):
            y, v, n = [], [], 0
            for name, a in trials.items():
                T, C = a["treatment"], a["control"]
                g, var = hedges(int(T["n"]), float(T["mean"]), float(T["sd"]), int(C["n"]), float(C["mean"]), float(C["sd"]), form)
                y.append(g); v.append(var); n += int(T["n"]) + int(C["n"])
            r = dl(y, v)
            out.append(dict(target_id=tid, variant="Hedges g, var=" + ("N/n1n2+g2/(2(N-3.94)) [meta default]" if form == "meta" else "N/n1n2+g2/(2N)") + ", DL",
                            k=r["k"], n=n, reproduced=round(r["re"], 3), ci_low=round(r["lo"], 3), ci_high=round(r["hi"], 3),
                            tau2=round(r["tau2"], 4), I2=round(100 * r["I2"], 1), published=t["estimate"], pub_ci_low=t["ci_low"], pub_ci_high=t["ci_high"]))
    else:
        y, v, num, den, n, kz = [], [], 0.0, 0.0, 0, 0
        for name, arm in trials.items():
            a, n1 = int(arm["treatment"]["events"]), int(arm["treatment"]["n"]); c, n2 = int(arm["control"]["events"]), int(arm["control"]["n"])
            if a == 0 and c == 0: kz += 1; continue
            b, d = n1 - a, n2 - c; N = n1 + n2; num += a * d / N; den += b * c / N; n += N
            if 0 in (a, b, c, d): a, b, c, d = a + .5, b + .5, c + .5, d + .5
            y.append(math.log(a * d / (b * c))); v.append(1 / a + 1 / b + 1 / c + 1 / d)
        r = dl(y, v)
        out.append(dict(target_id=tid, variant="OR; DL random on log OR (0.5 cc); MH common OR=%.3f; %d double-zero studies dropped" % (num / den, kz),
                        k=r["k"], n=n, reproduced=round(math.exp(r["re"]), 3), ci_low=round(math.exp(r["lo"]), 3), ci_high=round(math.exp(r["hi"]), 3),
                        tau2=round(r["tau2"], 4), I2=round(100 * r["I2"], 1), published=t["estimate"] or "NOT READ", pub_ci_low=t["ci_low"], pub_ci_high=t["ci_high"]))

cols = ["target_id", "variant", "k", "n", "reproduced", "ci_low", "ci_high", "tau2", "I2", "published", "pub_ci_low", "pub_ci_high"]
with open("reproduction_check.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=cols); w.writeheader(); [w.writerow(o) for o in out]
for o in out: print(" | ".join(str(o[c]) for c in cols))
