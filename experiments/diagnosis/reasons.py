"""Reasons from complaint text: a keyword catalogue users extend in YAML, and topics the catalogue misses.

Each text is tokenised (English: scikit-learn's ``CountVectorizer`` analyzer; Chinese: jieba, with the catalogue's
keywords added to its dictionary so that each is kept whole) and tagged with the catalogue reason of most keyword
hits; ties go to the reason mentioned first, and a text without any hit is ``other``. The texts tagged ``other``
are then given to a topic model (scikit-learn NMF on TF-IDF, or LDA on counts) whose topics and top words show what
the catalogue misses: a reason to add to it. With a churn column, the churn rate per reason and the share of all
churners per reason are computed in DuckDB.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"text": ["The signal drops all the time", "Your price is too expensive", "moving"]})
>>> res = tag_reasons(frame, text="text", lang="en", topics=0)
>>> res.tagged["reason"].tolist()
['network', 'price', 'other']
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from experiments.errors import DataError, close_matches
from experiments.spec.literals import check_literal

if TYPE_CHECKING:
    import pandas as pd

TextLang = Literal["en", "zh"]
TopicMethod = Literal["nmf", "lda"]
OTHER = "other"
CATALOGUE_FILE = Path(__file__).with_name("reason_catalogue.yaml")
#: Words a topic should not be made of (with scikit-learn's English stop words).
ZH_STOP_WORDS = frozenset(
    "的 了 是 我 你 他 她 它 们 这 那 就 都 也 还 在 和 有 没 不 很 太 又 把 被 给 到 说 要 会 能 "
    "一个 什么 这个 那个 吧 啊 呢 吗 呀 我们 你们 自己 已经 一直 上 下 个 里 去 来 用 着 过 对 让 从 "
    "而且 另外 但是 可是 所以 因为 如果 然后 一下 "
    "你好 谢谢 麻烦 处理 希望 尽快 解决 说实话 问题 反映 想".split())
_WORD = re.compile(r"\w", re.UNICODE)


class ReasonKeywords(BaseModel):
    """Keywords of one reason per language."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    en: list[str] = []
    zh: list[str] = []

    @field_validator("en", "zh")
    @classmethod
    def _non_empty(cls, words: list[str]) -> list[str]:
        for w in words:
            if not str(w).strip() or str(w).strip() == "*":
                raise ValueError(f"keyword {w!r} is empty; remove it")
        return [str(w).strip() for w in words]


class Catalogue(BaseModel):
    """A keyword catalogue: ``reasons: {name: {en: [...], zh: [...]}}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    reasons: dict[str, ReasonKeywords]

    @field_validator("reasons")
    @classmethod
    def _names(cls, reasons: dict[str, ReasonKeywords]) -> dict[str, ReasonKeywords]:
        for name in reasons:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"reason name {name!r} must be lower-case letters, digits and _ (e.g. roaming)")
            if name == OTHER:
                raise ValueError("'other' is the tag of texts without any keyword; give it no keywords")
        return reasons

    def merged(self, extra: Catalogue) -> Catalogue:
        """This catalogue with ``extra``'s keywords added (new reasons appended)."""
        out = {name: kw.model_dump() for name, kw in self.reasons.items()}
        for name, kw in extra.reasons.items():
            cur = out.setdefault(name, {"en": [], "zh": []})
            for lang in ("en", "zh"):
                cur[lang] = list(dict.fromkeys([*cur[lang], *getattr(kw, lang)]))
        return Catalogue.model_validate({"reasons": out})


def _read_catalogue(path: Path) -> Catalogue:
    from experiments.diagnosis.inputs import read_yaml, validate_mapping

    raw = read_yaml(path, "--catalogue", "reasons and keywords")
    return validate_mapping(Catalogue, raw, str(path), "the key 'reasons'")


def load_catalogue(extra: str | Path | None = None) -> Catalogue:
    """The built-in catalogue (``reason_catalogue.yaml``), extended by the user's YAML file if given.

    Raises
    ------
    DesignError
        The file is missing, not YAML, or does not validate (unknown key, bad reason name, empty keyword).
    """
    base = _read_catalogue(CATALOGUE_FILE)
    return base if extra is None else base.merged(_read_catalogue(Path(extra)))


@functools.lru_cache(maxsize=4)
def _jieba(words: tuple[str, ...]) -> Any:
    """A jieba tokenizer with the catalogue's keywords in its dictionary (built once per catalogue)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba 0.42 imports pkg_resources, which warns on new setuptools
        import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    for w in words:
        tok.add_word(w, freq=100_000)
    return tok


def tokenizer(lang: TextLang, keywords: tuple[str, ...] = ()) -> Any:
    """A function text -> list of lower-case word tokens (punctuation dropped).

    English: scikit-learn's ``CountVectorizer().build_analyzer()``; Chinese: jieba's ``lcut`` with ``keywords``
    added to its dictionary.
    """
    if lang == "en":
        from sklearn.feature_extraction.text import CountVectorizer

        return CountVectorizer(lowercase=True).build_analyzer()
    tok = _jieba(tuple(sorted({k for k in keywords if not k.endswith("*")})))

    def cut(text: str) -> list[str]:
        return [t.lower() for t in tok.lcut(text) if _WORD.search(t)]

    return cut


def _reason_pattern(keywords: list[str], tokenize: Any) -> re.Pattern[str] | None:
    """Regex over ``' tok tok tok '`` whose matches (overlapping, by lookahead) are the keyword hits."""
    alts = []
    for kw in keywords:
        prefix = kw.endswith("*")
        toks = tokenize(kw.rstrip("*"))
        if not toks:
            continue
        body = " ".join(re.escape(t) for t in toks)
        alts.append(body + (r"\S*" if prefix else ""))
    if not alts:
        return None
    return re.compile(r"(?= (?:" + "|".join(sorted(alts, key=len, reverse=True)) + ") )")


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the texts the catalogue tagged ``other``.

    Attributes
    ----------
    topic : int
        Index (0-based).
    top_words : list[str]
        Words of largest weight, most important first.
    n_texts : int
        ``other`` texts whose largest topic weight is this topic.
    """

    topic: int
    top_words: list[str]
    n_texts: int


@dataclass(frozen=True, slots=True)
class ReasonsResult:
    """Reasons of complaint texts.

    Attributes
    ----------
    tagged : DataFrame
        One row per input row, in input order: the id column (if given), ``reason`` (the tag), ``matched`` (every
        reason with a hit, ``;``-separated, most hits first), ``hits`` (keyword hits of the tag) and the churn
        column (if given), and ``topic``: the topic of an ``other`` text (its largest weight; -1 otherwise), so
        its examples can be read before a topic becomes a catalogue reason.
    by_reason : DataFrame
        Per reason: ``texts``, ``share`` of texts, and with a churn column ``churners``, ``churn_rate`` and
        ``share_of_churners``.
    topics : list[Topic]
        Topics of the ``other`` texts (empty when there are too few of them or ``topics=0``).
    lang : {"en", "zh"}
        Language used for tokenising.
    lang_detected : bool
        Whether ``lang`` was detected from the texts rather than given.
    reasons : list[str]
        The catalogue's reasons (plus ``other``).
    n_blank : int
        Rows whose text was missing or blank (tagged ``other``).
    topic_method : str
        ``nmf`` or ``lda``.
    """

    tagged: pd.DataFrame
    by_reason: pd.DataFrame
    topics: list[Topic]
    lang: str
    lang_detected: bool
    reasons: list[str]
    n_blank: int
    topic_method: str

    def summary(self) -> pd.DataFrame:
        """The per-reason table."""
        return self.by_reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-able result (without the per-row tags)."""
        return {"lang": self.lang, "lang_detected": self.lang_detected, "n_texts": int(len(self.tagged)),
                "n_blank": self.n_blank, "reasons": self.reasons,
                "by_reason": self.by_reason.to_dict("records"),
                "topic_method": self.topic_method,
                "topics_missed_by_catalogue": [{"topic": t.topic, "top_words": t.top_words, "n_texts": t.n_texts}
                                               for t in self.topics]}

    def _repr_html_(self) -> str:
        return self.by_reason.to_html(index=False)

    def plot(self, ax: Any = None) -> Any:
        """Plotly bars: share of churners (or of texts) by reason."""
        import plotly.express as px

        y = "share_of_churners" if "share_of_churners" in self.by_reason else "share"
        return px.bar(self.by_reason, x="reason", y=y)


def detect_lang(texts: Any) -> TextLang:
    """``zh`` when most non-blank texts contain a CJK character, else ``en``."""
    cjk = re.compile(r"[\u4e00-\u9fff]")
    vals = [t for t in texts if isinstance(t, str) and t.strip()]
    return "zh" if vals and sum(bool(cjk.search(t)) for t in vals) > len(vals) / 2 else "en"


def _read(data: Any, cols: dict[str, str | None]) -> pd.DataFrame:
    """The needed columns as pandas, after checking in DuckDB that they exist and the text column is text."""
    from experiments.data.sources import _ident
    from experiments.diagnosis.profiling import open_diagnosis_source

    src = open_diagnosis_source(data)
    for flag, col in cols.items():
        if col is not None and col not in src.columns:
            raise DataError(f"{flag}: {src.label} has no column {col!r}{close_matches(col, src.columns)}; "
                            f"columns are: {', '.join(src.columns[:30])}")
    text = str(cols["--text"])
    if src.kind(text) != "string":
        raise DataError(f"--text column {text!r} of {src.label} is {src.dtype(text)}, not text; name the column "
                        "that holds the complaint or survey answer")
    n, filled = src._one(f"SELECT count(*), count(nullif(trim({_ident(text)}), '')) FROM {src.relation}")
    if not filled:
        raise DataError(f"--text column {text!r} of {src.label} is empty: none of its {n:,} values has text")
    wanted = list(dict.fromkeys(c for c in cols.values() if c is not None))
    sel = ", ".join(_ident(c) for c in wanted)
    return src.con.execute(f"SELECT {sel} FROM {src.relation}").df()


def _churn_flags(values: Any, positive: Any, column: str) -> Any:
    import numpy as np
    import pandas as pd

    s = pd.Series(values)
    if s.isna().any():
        raise DataError(f"--churn column {column!r} has {int(s.isna().sum()):,} missing value(s); fill or drop them")
    if positive is not None:
        return (s.astype(str) == str(positive)).astype(int).to_numpy()
    uniq = set(s.unique().tolist())
    if uniq <= {0, 1}:
        return s.astype(int).to_numpy()
    lowered = {str(u).lower() for u in uniq}
    if lowered <= {"yes", "no", "true", "false"}:
        return np.isin(s.astype(str).str.lower(), ["yes", "true"]).astype(int)
    raise DataError(f"--churn column {column!r} has values {sorted(map(str, uniq))[:5]}; it must be 0/1, yes/no, "
                    "or pass --churn-value V naming the value that means churn")


def _by_reason(tagged: pd.DataFrame, churn: str | None, order: list[str]) -> pd.DataFrame:
    """Per-reason counts and churn, aggregated in DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.register("tagged", tagged)
    churn_sql = (", sum(_churn) AS churners, avg(_churn) AS churn_rate, "
                 "sum(_churn) / nullif(sum(sum(_churn)) OVER (), 0) AS share_of_churners") if churn else ""
    out = con.execute(f"SELECT reason, count(*) AS texts, count(*) / sum(count(*)) OVER () AS share{churn_sql} "
                      "FROM tagged GROUP BY reason").df()
    out["reason"] = out["reason"].astype(str)
    rank = {r: i for i, r in enumerate(order)}
    return out.sort_values("reason", key=lambda s: s.map(rank)).reset_index(drop=True)


def _topics(texts: list[str], tokenize: Any, lang: str, n_topics: int, method: str, n_top: int,
            seed: int) -> tuple[list[Topic], Any]:
    import numpy as np
    from sklearn.decomposition import NMF, LatentDirichletAllocation
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfVectorizer

    stop = ENGLISH_STOP_WORDS if lang == "en" else ZH_STOP_WORDS

    def analyze(text: str) -> list[str]:
        return [t for t in tokenize(text) if t not in stop and not t.isdigit() and len(t) > (1 if lang == "en" else 0)]

    none = np.full(len(texts), -1)
    if n_topics <= 0 or len(texts) < max(10, 3 * n_topics):
        return [], none
    vec_cls = TfidfVectorizer if method == "nmf" else CountVectorizer
    vec = vec_cls(analyzer=analyze, min_df=2)
    try:
        x = vec.fit_transform(texts)
    except ValueError:  # no word occurs twice
        return [], none
    k = min(n_topics, x.shape[1])
    model = (NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=500) if method == "nmf"
             else LatentDirichletAllocation(n_components=k, random_state=seed, learning_method="batch"))
    w = model.fit_transform(x)
    words = np.asarray(vec.get_feature_names_out())
    owner = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
    return [Topic(topic=i, top_words=words[np.argsort(-comp)[:n_top]].tolist(), n_texts=int((owner == i).sum()))
            for i, comp in enumerate(model.components_)], owner


def tag_reasons(
    data: Any,
    *,
    text: str,
    lang: TextLang | None = None,
    catalogue: Catalogue | str | Path | None = None,
    churn: str | None = None,
    churn_value: Any = None,
    id_column: str | None = None,
    topics: int = 3,
    topic_method: TopicMethod = "nmf",
    n_top_words: int = 8,
    rng: np.random.Generator | int | None = 0,
) -> ReasonsResult:
    """Tag each text with a reason from the catalogue and model the topics it misses.

    Parameters
    ----------
    data : str, Path or DataFrame
        Complaints or survey answers (``.parquet``, ``.csv``, ``duckdb:///db?table=``, a DataFrame; not modified).
    text : str
        The text column.
    lang : {"en", "zh"}, optional
        Language; detected from the texts when omitted (``zh`` if most contain Chinese characters).
    catalogue : Catalogue, str or Path, optional
        A catalogue, or a YAML file extending the built-in one.
    churn : str, optional
        Churn column (0/1, yes/no, or see ``churn_value``) for churn rate and share of churners by reason.
    churn_value : optional
        Value of ``churn`` that means churned.
    id_column : str, optional
        Id column carried into :attr:`ReasonsResult.tagged`.
    topics : int
        Topics of the ``other`` texts (0: no topic model).
    topic_method : {"nmf", "lda"}
        scikit-learn's NMF on TF-IDF or LatentDirichletAllocation on counts.
    n_top_words : int
        Top words reported per topic.
    rng : Generator, int or None
        Seeds the topic model.

    Returns
    -------
    ReasonsResult

    Raises
    ------
    DataError
        A named column is missing, the text column is not text or is empty, or the churn column is not binary.
    DesignError
        ``lang`` or ``topic_method`` is not supported, or the catalogue file is invalid.
    """
    import numpy as np
    import pandas as pd

    if lang is not None:
        check_literal(lang, TextLang, "--lang")
    check_literal(topic_method, TopicMethod, "--topic-method")
    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    frame = _read(data, {"--text": text, "--churn": churn, "--id": id_column})
    raw = frame[text]
    detected = lang is None
    use: TextLang = detect_lang(raw) if lang is None else lang
    words = tuple(w for kw in cat.reasons.values() for w in getattr(kw, use))
    tokenize = tokenizer(use, words)
    patterns = {name: _reason_pattern(getattr(kw, use), tokenize) for name, kw in cat.reasons.items()}
    blank = ~raw.map(lambda t: isinstance(t, str) and bool(t.strip())).to_numpy()
    reason, matched, hits = [], [], []
    for t, is_blank in zip(raw.tolist(), blank, strict=True):
        if is_blank:
            reason.append(OTHER)
            matched.append("")
            hits.append(0)
            continue
        joined = " " + " ".join(tokenize(t)) + " "
        found = []
        for name, pat in patterns.items():
            if pat is None:
                continue
            pos = [m.start() for m in pat.finditer(joined)]
            if pos:
                found.append((-len(pos), pos[0], name))
        found.sort()
        reason.append(found[0][2] if found else OTHER)
        matched.append(";".join(f[2] for f in found))
        hits.append(-found[0][0] if found else 0)
    tagged = pd.DataFrame({**({id_column: frame[id_column].to_numpy()} if id_column else {}),
                           "reason": reason, "matched": matched, "hits": np.asarray(hits, dtype=int)})
    if churn is not None:
        tagged[churn] = frame[churn].to_numpy()
        work = tagged.assign(_churn=_churn_flags(frame[churn], churn_value, churn))
    else:
        work = tagged
    order = [*cat.reasons, OTHER]
    by = _by_reason(work[["reason", *(["_churn"] if churn else [])]], churn, order)
    is_other = (np.asarray(reason) == OTHER) & ~blank
    seed = int(np.random.default_rng(rng).integers(2**31 - 1))
    found_topics, owner = _topics(raw[is_other].tolist(), tokenize, use, topics, topic_method, n_top_words, seed)
    topic_col = np.full(len(tagged), -1)
    topic_col[is_other] = owner
    tagged["topic"] = topic_col
    return ReasonsResult(tagged=tagged, by_reason=by, topics=found_topics, lang=use, lang_detected=detected,
                         reasons=order, n_blank=int(blank.sum()), topic_method=topic_method)


if TYPE_CHECKING:
    import numpy as np
