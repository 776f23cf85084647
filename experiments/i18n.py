"""Report language: English and Simplified Chinese.

Sentences of the report are templates keyed by name; :func:`msg` fills them in the reader's language. Numbers are
formatted by the caller, so both languages show the same figures.
"""

from __future__ import annotations

from typing import Literal

from experiments.literals import check_literal

Lang = Literal["en", "zh"]

MESSAGES: dict[str, dict[str, str]] = {
    # page chrome
    "generated": {"en": "generated", "zh": "生成于"},
    "in_short": {"en": "In short", "zh": "要点"},
    "alerts": {"en": "Trust checks that need attention before acting on these results:",
               "zh": "在依据这些结果采取行动之前，请先处理以下可信度检查："},
    "all_ok": {"en": "All trust checks passed.", "zh": "所有可信度检查均已通过。"},
    "what_this_means": {"en": "What this means", "zh": "结论"},
    "trust_checks": {"en": "Trust checks", "zh": "可信度检查"},
    "numbers": {"en": "Numbers", "zh": "数据"},
    "method_notes": {"en": "Method notes", "zh": "方法说明"},
    "english_only": {"en": "", "zh": "（本节内容暂仅提供英文。）"},
    # section titles by key
    "title.experiment": {"en": "Experiment {name}", "zh": "实验 {name}"},
    "title.survival": {"en": "Time to churn: tenure gained and lifetime value",
                       "zh": "流失时间：在网时长增益与客户终身价值"},
    "title.roi": {"en": "Return on each offer", "zh": "各项优惠的投资回报"},
    "title.promo": {"en": "Competitor promotion: effect on churn", "zh": "竞争对手促销对流失的影响"},
    "title.design": {"en": "Experiment design and assignment", "zh": "实验设计与分组"},
    "title.uplift": {"en": "Who should get which offer", "zh": "谁应获得哪项优惠"},
    # experiment
    "effect.improved": {"en": "{arm} improved {metric}", "zh": "{arm} 改善了 {metric}"},
    "effect.worse": {"en": "{arm} made {metric} worse", "zh": "{arm} 使 {metric} 变差"},
    "effect.none": {"en": "{arm}: no clear effect on {metric}", "zh": "{arm} 对 {metric} 没有明确影响"},
    "effect.binary": {"en": "{verdict}: {ctrl} → {arm} ({diff} points, 95% CI {lo} to {hi}; {p}).",
                      "zh": "{verdict}：{ctrl} → {arm}（{diff} 个百分点，95% 置信区间 {lo} 至 {hi}；{p}）。"},
    "effect.continuous": {"en": "{verdict}: {ctrl} → {arm} ({diff}, 95% CI {lo} to {hi}; {rel} relative; {p}).",
                          "zh": "{verdict}：{ctrl} → {arm}（{diff}，95% 置信区间 {lo} 至 {hi}；"
                                "相对变化 {rel}；{p}）。"},
    "p.adjusted": {"en": "{method}-adjusted p {p}", "zh": "{method} 校正后 p {p}"},
    "p.raw": {"en": "p {p}", "zh": "p {p}"},
    "guardrail.held": {"en": "Guardrail {metric} held for {arm}: worst plausible change {bound} against a {kind} "
                             "margin of {margin} (one-sided p {p}).",
                       "zh": "护栏指标 {metric} 对 {arm} 成立：最不利的合理变化为 {bound}，{kind}界限为 {margin}"
                             "（单侧 p {p}）。"},
    "guardrail.failed": {"en": "Guardrail {metric} was NOT shown to hold for {arm}: worst plausible change {bound} "
                               "against a {kind} margin of {margin} (one-sided p {p}).",
                         "zh": "护栏指标 {metric} 对 {arm} 未能证明成立：最不利的合理变化为 {bound}，{kind}界限为 "
                               "{margin}（单侧 p {p}）。"},
    "kind.relative": {"en": "relative", "zh": "相对"},
    "kind.absolute": {"en": "absolute", "zh": "绝对"},
    "check.srm": {"en": "Sample-ratio mismatch", "zh": "样本比例失衡（SRM）"},
    "srm.ok": {"en": "arm sizes match the design weights (χ² p = {p}).",
               "zh": "各组样本量与设计权重一致（χ² p = {p}）。"},
    "srm.fail": {"en": "arm sizes do not match the design weights (χ² = {stat}, p = {p} < {alpha}); the assignment or "
                       "the data pipeline lost units — do not trust the effects until this is explained.",
                 "zh": "各组样本量与设计权重不一致（χ² = {stat}，p = {p} < {alpha}）；分组或数据管道丢失了样本——"
                       "在查明原因之前不要相信效果估计。"},
    "srm.empty": {"en": "arm(s) {arms} have no units.", "zh": "组 {arms} 没有样本。"},
    "check.guardrail": {"en": "Guardrail {metric}", "zh": "护栏指标 {metric}"},
    "guardrail.check": {"en": "{arm}: not shown to stay within the margin ({bound} worst plausible change vs margin "
                              "{margin}).",
                        "zh": "{arm}：未能证明保持在界限之内（最不利的合理变化 {bound}，界限 {margin}）。"},
    "check.maturity": {"en": "Maturity of {metric}", "zh": "{metric} 的观察期"},
    "maturity": {"en": "{n} of {total} units ({share}) assigned after {cutoff} are not yet observable and were left "
                       "out.",
                 "zh": "{total} 个样本中有 {n} 个（{share}）在 {cutoff} 之后分组，尚未满观察期，已排除。"},
    # ROI
    "roi.pays": {"en": "pays for itself", "zh": "能够收回成本"},
    "roi.loses": {"en": "loses money", "zh": "亏损"},
    "roi.unclear": {"en": "has a net value that is not clearly different from zero", "zh": "净价值与零无明显差异"},
    "roi.line": {"en": "{arm} {verdict}: per subscriber offered it gains {value} in lifetime value and costs {cost} "
                       "(acceptance {acc}), net {net} (95% CI {lo} to {hi}){roi}; {retained} fewer churners per "
                       "1,000 offered.",
                 "zh": "{arm}{verdict}：每位获得优惠的用户带来 {value} 的终身价值，成本 {cost}（接受率 {acc}），净值 "
                       "{net}（95% 置信区间 {lo} 至 {hi}）{roi}；每 1,000 位用户减少流失 {retained} 人。"},
    "roi.roi": {"en": "; ROI {roi} (95% CI {lo} to {hi})", "zh": "；投资回报率 {roi}（95% 置信区间 {lo} 至 {hi}）"},
    "roi.none_pays": {"en": "No offer pays for itself when given to everyone eligible; target it (see the uplift "
                            "section) or lower its cost.",
                      "zh": "若向所有符合条件的用户发放，没有任何优惠能够收回成本；"
                            "请定向发放（见增量分析部分）或降低成本。"},
    "roi.best": {"en": "Best blanket offer by expected net value: {arm} ({net} per subscriber offered).",
                 "zh": "按期望净值计算，最佳的全面发放方案为：{arm}（每位用户 {net}）。"},
    "check.value": {"en": "Value of a retained subscriber", "zh": "留存用户的价值"},
}


def msg(key: str, lang: Lang = "en", **values: object) -> str:
    """The message ``key`` in ``lang`` with ``values`` filled in.

    Examples
    --------
    >>> msg("effect.improved", "zh", arm="flow_pack", metric="churn_90d")
    'flow_pack 改善了 churn_90d'
    """
    check_literal(lang, Lang, "lang")
    return MESSAGES[key][lang].format(**values)
