"""Write a simulated raw Hub (models.jsonl shards, cards, ground truth)."""

from hubanatomy.logs import run_script
from hubanatomy.simulator import simulate


def main():
    p = snakemake.params
    # the directionality sweep's Hubs override the simulator's mutation settings
    simulate(models=p.models, seed=p.seed, scenario=p.scenario,
             out_dir=snakemake.output.raw, mutation=getattr(p, "mutation", None))


run_script(snakemake, main)
