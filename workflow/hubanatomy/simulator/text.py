"""Names and model-card text of the simulated Hub.

Cards are markdown with YAML front matter. Hand-written bodies are drawn from a seeded pool of
paragraphs (headings, prose, usage code, tables, citations), so relatives that share paragraphs
share text; auto-generated cards follow a trainer-style template that names the parent.
All assembly is columnar (polars string expressions), chunk by chunk.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pyarrow as pa

from hubanatomy.simulator.traits import PARAGRAPH_POOL

SYLLABLES = (
    "ka lo mi ra zen tor vel qua nix sol dra fen gal hel ion jor kel lum mor nov or pix quin "
    "ryn sta tal umb vor wex xan yor zor bel cor dax el fal gor hal ix ana bri cel del eon fin "
    "gra hyp ith jun kor lex mag nel oph pra rho sen tri vox"
).split()

WORDS = (
    "the model was trained on a large corpus of text and code data for research use only we "
    "evaluate performance across benchmarks results show that fine tuning improves accuracy "
    "on downstream tasks this checkpoint is intended for instruction following chat reasoning "
    "and summarization it may produce biased or incorrect outputs users should verify "
    "generated content before deployment training used mixed precision with a cosine schedule "
    "learning rate warmup and gradient accumulation the tokenizer vocabulary covers multiple "
    "languages evaluation metrics include perplexity exact match f1 bleu rouge and win rate "
    "limitations include hallucination sensitivity to prompts and limited context length the "
    "dataset was filtered deduplicated and cleaned to remove personal information safety "
    "alignment relied on human feedback preference data and red teaming inference can run on "
    "a single gpu with quantization weights are released under the license listed above "
    "please cite our paper if you use this work architecture details layers hidden size "
    "attention heads context window parameters images audio speech recognition classification "
    "embeddings retrieval similarity generation diffusion sampling steps guidance scale prompt "
    "negative style resolution lora rank alpha adapter merged base quantized gguf bits"
).split()

HEADINGS = (
    "## Model Details", "## Model Description", "## Uses", "## Direct Use",
    "## Out-of-Scope Use", "## Bias, Risks, and Limitations", "## How to Get Started",
    "## Training Details", "## Training Data", "## Training Procedure", "## Evaluation",
    "## Results", "## Environmental Impact", "## Technical Specifications", "## Citation",
    "## Model Card Authors", "## Model Card Contact", "## License", "## Acknowledgements",
    "## Limitations", "## Prompt Format", "## Quantization Details", "## Benchmarks",
)

USAGE_SNIPPETS = (
    "```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
    "tokenizer = AutoTokenizer.from_pretrained(\"{MODEL}\")\n"
    "model = AutoModelForCausalLM.from_pretrained(\"{MODEL}\")\n```",
    "```python\nfrom diffusers import DiffusionPipeline\n\n"
    "pipe = DiffusionPipeline.from_pretrained(\"{MODEL}\")\nimage = pipe(prompt).images[0]\n```",
    "```python\nfrom transformers import pipeline\n\n"
    "classifier = pipeline(\"text-classification\", model=\"{MODEL}\")\n```",
    "```bash\nllama-cli --hf-repo {MODEL} -p \"The meaning of life is\"\n```",
    "```python\nfrom sentence_transformers import SentenceTransformer\n\n"
    "model = SentenceTransformer(\"{MODEL}\")\nembeddings = model.encode(sentences)\n```",
)

FINETUNE_SUFFIXES = ("finetuned", "ft", "sft", "dpo", "instruct", "chat", "custom", "tuned",
                     "orpo", "v2", "exp", "lr2e-5", "e3", "imdb", "squad", "medical")
ADAPTER_SUFFIXES = ("lora", "qlora", "adapter", "peft", "lora-r16", "style-lora")
QUANT_SUFFIXES = ("GGUF", "AWQ", "GPTQ", "4bit", "8bit", "Q4_K_M-GGUF", "Q8_0-GGUF", "exl2",
                  "bnb-4bit", "mlx-4bit", "i1-GGUF", "int4")
MERGE_SUFFIXES = ("slerp", "ties", "dare-ties", "merge", "passthrough", "della", "model-stock")
VARIANTS = ("", "", "", "-Instruct", "-Base", "-Chat", "-v2", "-it", "-Preview")


def pick(options, idx: np.ndarray) -> pl.Series:
    """options[idx] as a string Series; negative idx gives null."""
    idx = np.asarray(idx, dtype=np.int64)
    values = pa.array(list(options), pa.string())
    return pl.Series(values.take(pa.array(np.maximum(idx, 0), mask=idx < 0)))


def choose(rng, options, size) -> pl.Series:
    """`size` uniform draws from options."""
    return pick(options, rng.integers(0, len(options), size))


def choose_grouped(rng, groups: list, group: np.ndarray, by: np.ndarray | None = None):
    """One option per row from groups[group[row]] (null where that group is empty); uniform,
    or, when `by` is given, the option by[row] modulo the group's size."""
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = [o for g in groups for o in g]
    size = sizes[group]
    within = (rng.integers(0, np.maximum(size, 1)) if by is None
              else np.asarray(by) % np.maximum(size, 1))
    return pick(flat, np.where(size > 0, starts[group] + within, -1))


def random_words(rng, size, syllables=(2, 3), capital=False) -> pl.Series:
    """Pronounceable made-up words, vectorised."""
    count = rng.integers(syllables[0], syllables[1] + 1, size)
    parts = [choose(rng, SYLLABLES, size) for _ in range(syllables[1])]
    frame = pl.DataFrame({f"s{i}": p for i, p in enumerate(parts)}).with_columns(
        n=pl.Series(count))
    exprs = [pl.when(pl.col("n") > i).then(pl.col(f"s{i}")).otherwise(pl.lit(""))
             for i in range(syllables[1])]
    word = frame.select(pl.concat_str(exprs).alias("w"))["w"]
    if capital:
        word = word.str.slice(0, 1).str.to_uppercase() + word.str.slice(1)
    return word


def paragraph_pool(rng) -> list[str]:
    """PARAGRAPH_POOL reusable card blocks: prose (some under a heading), code, tables, bibtex."""
    words = np.asarray(WORDS, dtype=object)
    zipf = 1 / np.arange(1, len(words) + 1) ** 0.8
    zipf /= zipf.sum()
    pool = []
    for i in range(PARAGRAPH_POOL):
        roll = rng.random()
        if roll < 0.06:
            block = USAGE_SNIPPETS[i % len(USAGE_SNIPPETS)]
        elif roll < 0.10:
            rows = "\n".join(
                f"| {rng.choice(words)} | {rng.random() * 100:.1f} | {rng.random() * 100:.1f} |"
                for _ in range(rng.integers(2, 7)))
            block = f"| Benchmark | Score | Baseline |\n|---|---|---|\n{rows}"
        elif roll < 0.13:
            year = rng.integers(2018, 2026)
            title = " ".join(rng.choice(words, 6, p=zipf)).capitalize()
            block = (f"```bibtex\n@article{{{rng.choice(SYLLABLES)}{year},\n  title={{{title}}},\n"
                     f"  year={{{year}}}\n}}\n```")
        else:
            sentences = []
            for _ in range(rng.integers(2, 7)):
                s = " ".join(rng.choice(words, rng.integers(6, 20), p=zipf))
                sentences.append(s[0].upper() + s[1:] + ".")
            block = " ".join(sentences)
            if rng.random() < 0.15:
                items = "\n".join(f"- {' '.join(rng.choice(words, rng.integers(2, 6)))}"
                                  for _ in range(rng.integers(2, 6)))
                block = f"{block}\n\n{items}"
        if rng.random() < 0.35:
            block = f"{HEADINGS[rng.integers(0, len(HEADINGS))]}\n\n{block}"
        pool.append(block)
    return pool


def _yaml_list(column: str, key: str) -> pl.Expr:
    items = pl.col(column).list.eval(pl.lit("- ") + pl.element()).list.join("\n")
    return (pl.when(pl.col(column).list.len() > 0)
            .then(pl.lit(f"{key}:\n") + items + pl.lit("\n")).otherwise(pl.lit("")))


def _yaml_scalar(column: str, key: str) -> pl.Expr:
    return (pl.when(pl.col(column).is_not_null())
            .then(pl.lit(f"{key}: ") + pl.col(column) + pl.lit("\n")).otherwise(pl.lit("")))


AUTO_TEMPLATE = (
    "<!-- This model card was generated automatically from the information the training script "
    "had access to. Please check it and complete what is missing. -->\n\n"
    "# {NAME}\n\n{ORIGIN}\nIt achieves the following results on the evaluation set:\n"
    "- Loss: {LOSS}\n\n## Model description\n\nMore information needed\n\n"
    "## Intended uses & limitations\n\nMore information needed\n\n"
    "## Training and evaluation data\n\nMore information needed\n\n## Training procedure\n\n"
    "### Training hyperparameters\n\nThe following hyperparameters were used during training:\n"
    "- learning_rate: {LR}\n- train_batch_size: {BS}\n- eval_batch_size: {BS}\n- seed: {SEED}\n"
    "- optimizer: AdamW (betas=(0.9,0.999), epsilon=1e-08)\n- lr_scheduler_type: linear\n"
    "- num_epochs: {EPOCHS}\n\n### Framework versions\n\n- Transformers 4.{TV}.0\n"
    "- Pytorch 2.{PV}.0\n- Datasets 2.{DV}.0\n- Tokenizers 0.{KV}.1\n"
)


def fill_template(template: str, fields: dict[str, pl.Expr]) -> pl.Expr:
    """A string expression: template with every {KEY} replaced by fields[KEY], per row."""
    pieces = re.split(r"\{([A-Z]+)\}", template)
    return pl.concat_str([fields[p] if i % 2 else pl.lit(p) for i, p in enumerate(pieces)])


def card_column(frame: pl.DataFrame, rng) -> pl.Series:
    """The README.md of every model in `frame` (null where the model has no card).

    `frame` columns: id, name, license, languages, parents (declared ids), relation_name,
    extra_tags, datasets, pipeline_tag, library_name, has_card, auto_card, body (list of
    paragraph strings), broken_front_matter.
    """
    n = frame.height
    params = pl.DataFrame({
        "loss": pl.Series(np.round(rng.lognormal(-0.5, 0.8, n), 4)).cast(pl.String),
        "lr": choose(rng, ("2e-05", "5e-05", "1e-04", "2e-04", "3e-04", "1e-05"), n),
        "bs": choose(rng, ("4", "8", "16", "32", "64"), n),
        "seed": choose(rng, ("42", "0", "1", "1234", "3407"), n),
        "epochs": choose(rng, ("1", "2", "3", "5", "10"), n),
        "tv": pl.Series(rng.integers(20, 48, n)).cast(pl.String),
        "pv": pl.Series(rng.integers(0, 6, n)).cast(pl.String),
        "dv": pl.Series(rng.integers(10, 21, n)).cast(pl.String),
        "kv": pl.Series(rng.integers(13, 22, n)).cast(pl.String),
    })
    f = pl.concat([frame, params], how="horizontal")
    first_parent = pl.col("parents").list.first()
    dataset = pl.col("datasets").list.first().fill_null("None")
    origin = (pl.when(first_parent.is_not_null())
              .then(pl.lit("This model is a fine-tuned version of [") + first_parent
                    + pl.lit("](https://huggingface.co/") + first_parent + pl.lit(") on the ")
                    + dataset + pl.lit(" dataset."))
              .otherwise(pl.lit("This model was trained from scratch on the ") + dataset
                         + pl.lit(" dataset.")))
    auto = fill_template(AUTO_TEMPLATE, {
        "NAME": pl.col("name"), "ORIGIN": origin, "LOSS": pl.col("loss"), "LR": pl.col("lr"),
        "BS": pl.col("bs"), "SEED": pl.col("seed"), "EPOCHS": pl.col("epochs"),
        "TV": pl.col("tv"), "PV": pl.col("pv"), "DV": pl.col("dv"), "KV": pl.col("kv")})
    hand = (pl.lit("# ") + pl.col("name") + pl.lit("\n\n")
            + pl.col("body").list.join("\n\n") + pl.lit("\n"))
    base_model = (
        pl.when(pl.col("parents").list.len() == 1)
        .then(pl.lit("base_model: ") + first_parent + pl.lit("\n"))
        .when(pl.col("parents").list.len() > 1).then(
            pl.lit("base_model:\n")
            + pl.col("parents").list.eval(pl.lit("- ") + pl.element()).list.join("\n")
            + pl.lit("\n"))
        .otherwise(pl.lit("")))
    relation_line = (pl.when(pl.col("relation_name").is_in(["quantized", "merge", "adapter"])
                             & (pl.col("parents").list.len() > 0))
                     .then(pl.lit("base_model_relation: ") + pl.col("relation_name")
                           + pl.lit("\n")).otherwise(pl.lit("")))
    front = (pl.lit("---\n") + _yaml_scalar("license", "license") + _yaml_list("languages",
                                                                               "language")
             + base_model + relation_line + _yaml_list("extra_tags", "tags")
             + _yaml_list("datasets", "datasets") + _yaml_scalar("pipeline_tag", "pipeline_tag")
             + _yaml_scalar("library_name", "library_name"))
    # a broken front matter never closes (the YAML runs into the body)
    close = pl.when(pl.col("broken_front_matter")).then(pl.lit("\n")).otherwise(pl.lit("---\n\n"))
    text = front + close + pl.when(pl.col("auto_card")).then(auto).otherwise(hand)
    text = text.str.replace_all("{MODEL}", pl.col("id"), literal=True)
    return f.select(pl.when(pl.col("has_card")).then(text).otherwise(None).alias("card"))["card"]
