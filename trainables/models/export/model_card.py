"""The model card (README.md) an exported folder carries: where the model came from and what it costs."""

from dataclasses import dataclass, field


@dataclass
class CardFacts:
    """What the card says; the exporting command fills it from the results table and run.json.

    `metrics` are shown in order (accuracy first, then costs), `notes` are sentences about what the
    target format keeps and loses (e.g. activations in fp32), `command` reproduces the search.
    """

    title: str
    start_model: str
    dataset: str
    search: str
    trial: str
    metrics: dict[str, float] = field(default_factory=dict)
    command: str = ""
    export_command: str = ""
    notes: list[str] = field(default_factory=list)


def model_card(facts: CardFacts) -> str:
    """The card as Markdown text."""
    lines = [
        f"# {facts.title}",
        "",
        f"- Started from: {facts.start_model}",
        f"- Dataset: {facts.dataset}",
        f"- Search: {facts.search}",
        f"- Trial: {facts.trial}",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {key} | {_value(value)} |" for key, value in facts.metrics.items()]
    if facts.notes:
        lines += ["", "## What this export keeps", ""] + [f"- {note}" for note in facts.notes]
    if facts.command or facts.export_command:
        lines += ["", "## Reproduce", "", "```"]
        lines += [command for command in (facts.command, facts.export_command) if command]
        lines += ["```"]
    return "\n".join(lines) + "\n"


def _value(value: float) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
