"""`o3video ablate`: the paper's ablation tables on the demo's world (arms, runner, tables, plots)."""
