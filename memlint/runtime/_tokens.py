"""Token counting and budget fitting shared by working and conversation memory.

A token counter is any callable from text to a non-negative ``int``. The default counts
``ceil(len(text) / 4)``: the usual characters-per-token rule, rounded up so that no
non-empty text is free (free messages could pile up without ever triggering pruning).
``tiktoken`` is used only when it is installed and asked for by name; it is not a
dependency of memlint.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

TokenCounter = Callable[[str], int]
CounterSpec = Union[None, str, TokenCounter]

TRUNCATION_MARK = " [...]"
ELISION_MARK = "[...] "


def char_token_count(text: str) -> int:
    """Estimate tokens as characters / 4, rounded up."""
    return (len(text) + 3) // 4


def tiktoken_counter(encoding: str = "cl100k_base") -> TokenCounter:
    """A counter backed by ``tiktoken``'s ``encoding``; ``ImportError`` if tiktoken is not installed."""
    try:
        import tiktoken
    except ImportError as exc:
        raise ImportError(
            "token_counter='tiktoken' needs the optional 'tiktoken' package "
            "(pip install tiktoken); memlint does not install it"
        ) from exc
    codec = tiktoken.get_encoding(encoding)

    def count(text: str) -> int:
        return len(codec.encode(text, disallowed_special=()))

    return count


def resolve_counter(spec: CounterSpec) -> TokenCounter:
    """Turn a counter specification into a validated counter.

    ``None`` or ``"chars"``: characters / 4. ``"tiktoken"`` or ``"tiktoken:<encoding>"``:
    tiktoken, which must be installed. A callable: used as is, its results checked on use.
    """
    if spec is None or spec == "chars":
        return char_token_count
    if isinstance(spec, str):
        name, _, encoding = spec.partition(":")
        if name == "tiktoken":
            return _checked(tiktoken_counter(encoding or "cl100k_base"))
        raise ValueError(f"unknown token counter {spec!r}; use 'chars', 'tiktoken[:encoding]' or a callable")
    if callable(spec):
        return _checked(spec)
    raise TypeError(f"token_counter must be None, a name or a callable, not {type(spec).__name__}")


def _checked(counter: TokenCounter) -> TokenCounter:
    def count(text: str) -> int:
        value = counter(text)
        # bool is an int subclass, but a counter returning True is certainly a bug.
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"token counter returned {value!r}; it must return a non-negative int")
        return value

    return count


def _longest_fitting(size: int, fits: Callable[[int], bool]) -> int:
    """The largest n in [0, size] with fits(n), assuming fits is monotone (binary search).

    Logarithmic in ``size``, so even a multi-megabyte message costs a few dozen counts.
    """
    low, high = 0, size
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def truncate_head(text: str, budget: int, counter: TokenCounter, mark: str = TRUNCATION_MARK) -> str:
    """Keep the beginning of ``text`` (plus ``mark``) within ``budget`` tokens."""
    if counter(text) <= budget:
        return text
    if counter(mark) > budget:
        return text[: _longest_fitting(len(text), lambda n: counter(text[:n]) <= budget)]
    keep = _longest_fitting(len(text), lambda n: counter(text[:n] + mark) <= budget)
    return text[:keep] + mark


def keep_tail(text: str, budget: int, counter: TokenCounter, mark: str = ELISION_MARK) -> str:
    """Fit ``text`` within ``budget`` tokens by dropping its oldest (leading) content.

    Whole lines go first; if the last line alone is still too long, its start is cut.
    """
    if counter(text) <= budget:
        return text
    lines = text.splitlines()
    while len(lines) > 1 and counter("\n".join(lines)) > budget:
        del lines[0]
    last = "\n".join(lines)
    if counter(last) <= budget:
        return last
    if counter(mark) > budget:
        keep = _longest_fitting(len(last), lambda n: counter(last[len(last) - n :]) <= budget)
        return last[len(last) - keep :] if keep else ""
    keep = _longest_fitting(len(last), lambda n: counter(mark + last[len(last) - n :]) <= budget)
    return mark + (last[len(last) - keep :] if keep else "")


def optional_int(value: Optional[int], default: int, name: str) -> int:
    """``value`` (or ``default`` when ``None``) checked to be a positive int."""
    chosen = default if value is None else value
    if not isinstance(chosen, int) or isinstance(chosen, bool) or chosen <= 0:
        raise ValueError(f"{name} must be a positive int, not {chosen!r}")
    return chosen
