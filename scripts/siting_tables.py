#!/usr/bin/env python3
"""The siting figures of the README: France services of 04 and 05 (fixed sites, then all formats).

For each set of sites and each threshold (20 and 30 min): the communes and inhabitants beyond
today, the best 1, 2 and 3 new sites (maximal covering, greedy and exact, each K solved on its
own), and the fewest new sites to bring every commune within the threshold. Candidates: the
centres of the 360 communes of 04 and 05. Prints Markdown; the same answers come from
``access site --filter format_fs=Fixe --threshold 30 --optimize K`` and ``--cover-all``.

Usage::

    python scripts/siting_tables.py > /tmp/siting.md
"""

from __future__ import annotations

from accessibility.analyses.siting import InfeasibleCover, SitingModel
from accessibility.engine.places import Places
from accessibility.inputs.communes import load_communes
from accessibility.inputs.points import load_sites, parse_filter
from accessibility.network.graph import load_graph


def main() -> None:
    g = load_graph()
    c = load_communes()
    origins = Places.from_communes(g, c[c["departement"].isin(["04", "05"])].reset_index(drop=True))
    for label, filters in (("fixed sites (format_fs=Fixe)", [parse_filter("format_fs=Fixe")]), ("all formats", [])):
        df, _ = load_sites("france-services", filters=filters)
        sites = Places.from_frame(g, df).placed_only()
        print(f"\n### France services, {label}: {sites.n_placed} sites on the graph\n")
        print("| threshold | today beyond | best new sites (greedy) | best new sites (exact) | fewest sites for everyone |")
        print("|---|---|---|---|---|")
        for thr in (30.0, 20.0):
            m = SitingModel(g, origins, sites, threshold_min=thr)
            t = m.evaluate().totals.set_index("when").loc["before"]
            today = f"{int(t['communes_beyond'])} communes, {int(t['population_beyond']):,} inh. ({t['share_population_beyond']:.1f} %)"
            cells = {"greedy": [], "exact": []}
            for k in (1, 2, 3):
                o = m.optimize(k, objective="coverage")
                for meth, sol in (("greedy", o.greedy), ("exact", o.exact)):
                    names = " + ".join(o.candidates.names[j] for j in sol.chosen)
                    cells[meth].append(f"K={k}: {names} (+{sol.objective - sol.before:,.0f} inh.)")
            try:
                cov = m.cover_all()
                fewest = f"{int(cov.exact.objective)} (greedy {int(cov.greedy.objective)})"
            except InfeasibleCover as exc:
                fewest = f"impossible: {len(exc.uncoverable)} communes out of reach"
            print(f"| {thr:g} min | {today} | {'<br>'.join(cells['greedy'])} | {'<br>'.join(cells['exact'])} | {fewest} |")


if __name__ == "__main__":
    main()
