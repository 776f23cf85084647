"""Simulated complaint texts in English and Simplified Chinese, written from each subscriber's true churn reason.

Every subscriber has a true reason (``network``, ``price``, ``customer_service``, ``competitor``, ``billing`` or
``other``) and churns with a probability that depends on it. The complaint is assembled from sentence banks per
reason and language, with slots (places, amounts, operators, minutes) filled at random, an optional greeting or
closing line, in a quarter of the texts a short mention of a *second* topic (before or after the main complaint),
and noise (English: swapped letters, case; Chinese: particles, mixed punctuation).

Two banks per reason: ``seen`` sentences were written beside the keyword catalogue; ``heldout`` sentences were
written after the catalogue was frozen, as a customer would put it, and the catalogue was not changed to fit them
(some contain no catalogue keyword at all). Each text records its bank, so the tagging can be scored on wording
that the catalogue was not written from. ``other`` texts are about three themes the catalogue has no keywords for
(moving abroad, a broken or lost phone, a work phone from the employer), for the topic model to find.

Examples
--------
>>> sim = simulate_complaints(200, lang="en", rng=1)
>>> sorted(sim.columns)
['bank', 'churned', 'complaint', 'second_reason', 'subscriber_id', 'true_reason']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

REASONS: tuple[str, ...] = ("network", "price", "customer_service", "competitor", "billing", "other")
REASON_SHARES: tuple[float, ...] = (0.22, 0.20, 0.15, 0.15, 0.13, 0.15)
#: Probability of churning given the true reason.
CHURN_BY_REASON: dict[str, float] = {"network": 0.5, "price": 0.45, "customer_service": 0.4, "competitor": 0.65,
                                     "billing": 0.3, "other": 0.2}

SLOTS: dict[str, dict[str, list[str]]] = {
    "en": {"place": ["at home", "in my office", "in the basement", "downtown", "on the highway", "in my village"],
           "amount": ["$10", "$15", "twenty dollars", "$8", "$30"],
           "minutes": ["40", "25", "55", "90"],
           "operator": ["UniNet", "SkyMobile", "Orbit Telecom", "Nova"],
           "years": ["two", "5", "ten", "three"]},
    "zh": {"place": ["家里", "办公室", "地下室", "小区", "老家", "高速上"],
           "amount": ["20", "15", "30", "50", "8"],
           "minutes": ["40", "25", "半小时的", "一个小时的"],
           "operator": ["移动", "联通", "电信", "广电"],
           "years": ["两", "五", "十", "三"]},
}

BANKS: dict[str, dict[str, dict[str, list[str]]]] = {
    "en": {
        "network": {
            "seen": ["My calls keep dropping whenever I am {place}.", "There is no signal at all {place}.",
                     "The mobile data is so slow that videos never load.",
                     "Coverage {place} has been terrible for months.",
                     "The internet connection cuts out every evening."],
            "heldout": ["I can't even make a phone call from my kitchen, it just says searching.",
                        "Pages take forever to open on my phone.",
                        "Every time I get on the train my line goes dead.",
                        "Streaming stops every few minutes and the reception is awful."]},
        "price": {
            "seen": ["The plan is far too expensive for what I get.",
                     "You raised the monthly fee again and I cannot afford it.",
                     "The price went up by {amount} without any extra data.",
                     "It costs too much compared with last year."],
            "heldout": ["Paying {amount} a month for a basic line is ridiculous.",
                        "My salary did not go up but your rates did.",
                        "For this money I expect much more.",
                        "The tariff is no longer worth it for a student like me."]},
        "customer_service": {
            "seen": ["Customer service was rude and did not solve anything.",
                     "I waited on hold for {minutes} minutes and then the agent hung up.",
                     "Nobody at the hotline could help me.",
                     "The staff at the store ignored my complaint."],
            "heldout": ["I explained my problem three times to three different people and nothing happened.",
                        "The person on the phone laughed at me.",
                        "I have sent four emails and never got an answer.",
                        "They promised to call me back and never did."]},
        "competitor": {
            "seen": ["{operator} offered me a better deal with twice the data.",
                     "I am switching to {operator} next month.",
                     "I will port my number to another provider.",
                     "A rival carrier gives the same plan for less."],
            "heldout": ["My friend joined {operator} and gets unlimited data for the same money.",
                        "{operator} gave me a free phone if I sign with them.",
                        "I already have a SIM card from {operator}.",
                        "The shop next door sold me a {operator} contract with a year free."]},
        "billing": {
            "seen": ["I was charged twice for the same month.",
                     "My bill shows roaming charges although I never left the country.",
                     "I am still waiting for the refund you promised.",
                     "There are deductions on my account I never agreed to."],
            "heldout": ["Somebody added a subscription to my account that I never asked for, {amount} every month.",
                        "The invoice amount does not match my plan.",
                        "Money keeps disappearing from my prepaid balance.",
                        "I paid in full and you still say I owe {amount}."]},
        "other": {
            "seen": ["I am moving abroad for work next month.", "We are relocating overseas with the whole family.",
                     "My phone broke and I will not replace it.", "I lost my phone on holiday.",
                     "My employer now gives me a work phone.", "The company provides a work phone for me now."],
            "heldout": ["I got a new job overseas and will live abroad.",
                        "The screen of my phone cracked and the phone broke completely.",
                        "My employer pays for a work phone, so I keep only that one."]},
    },
    "zh": {
        "network": {
            "seen": [
                "{place}信号特别差，经常打不通电话。",
                "网速太慢了，视频根本加载不出来。",
                "打电话老是掉线，很影响工作。",
                "{place}几乎没有信号覆盖。",
            ],
            "heldout": [
                "在地铁里一直显示无服务，电话完全打不出去。",
                "刷个网页要转半天圈。",
                "晚上一到高峰期就连不上，什么都干不了。",
                "视频通话总是一卡一卡的。",
            ],
        },
        "price": {
            "seen": [
                "套餐太贵了，根本用不完。",
                "月租又涨价了，实在负担不起。",
                "资费比去年高了{amount}元。",
                "这个价格一点都不划算。",
            ],
            "heldout": [
                "每个月{amount}块钱就这么点流量，太坑了。",
                "工资没涨，手机费倒是年年涨。",
                "同样的钱在别处能买更多东西。",
                "学生党真的用不起这么高的套餐。",
            ],
        },
        "customer_service": {
            "seen": [
                "客服态度很差，问题一直没解决。",
                "打人工客服等了{minutes}分钟还是没人接。",
                "营业厅工作人员互相推诿。",
                "投诉了好几次都没人管。",
            ],
            "heldout": [
                "同一个问题我说了三遍，每次换一个人，最后不了了之。",
                "电话那头的人很不耐烦，直接把电话挂了。",
                "发了好几封邮件，一封回复都没有。",
                "说好回电话，结果再也没有消息。",
            ],
        },
        "competitor": {
            "seen": [
                "{operator}给了我更优惠的套餐，流量翻倍。",
                "下个月准备携号转网到{operator}。",
                "别家送了手机还送宽带。",
                "其他运营商的同档套餐便宜一半。",
            ],
            "heldout": [
                "朋友用{operator}的卡，同样的钱无限流量。",
                "{operator}那边签约就送一年会员。",
                "我已经办好了{operator}的新号码。",
                "楼下营业点推荐我换成{operator}的合约机。",
            ],
        },
        "billing": {
            "seen": [
                "同一个月被扣费两次。",
                "账单上有一笔国际漫游费，我根本没出国。",
                "说好的退款到现在还没到账。",
                "话费莫名其妙被多扣了{amount}元。",
            ],
            "heldout": [
                "莫名其妙开通了一个我没订过的增值业务，每月{amount}元。",
                "余额隔几天就少一点，不知道花在哪儿了。",
                "我明明交清了，系统还说我欠{amount}元。",
                "发票上的金额和套餐对不上。",
            ],
        },
        "other": {
            "seen": [
                "下个月要出国工作，这个号用不上了。",
                "全家搬到国外去了。",
                "手机摔坏了，暂时不用了。",
                "旧手机丢了，不打算再买。",
                "公司给配了工作手机，这个号就不需要了。",
                "单位发了工作手机。",
            ],
            "heldout": [
                "我要去国外读书，号码暂时停用。",
                "手机屏幕摔碎了，彻底坏了。",
                "单位统一配了工作手机，只用那个。",
            ],
        },
    },
}

#: Short mention of a second topic.
SECOND: dict[str, dict[str, list[str]]] = {
    "en": {"network": ["Also the signal is weak at home.", "The network is patchy too."],
           "price": ["Also the price went up.", "And it is expensive."],
           "customer_service": ["The hotline was no help either.", "Customer service did not care."],
           "competitor": ["A competitor called me with an offer too.", "{operator} keeps texting me offers."],
           "billing": ["And my last bill was wrong.", "I was also charged for roaming."]},
    "zh": {
        "network": ["另外信号也不太好。", "网速也一般。"],
        "price": ["而且价格也偏贵。", "资费也不便宜。"],
        "customer_service": ["客服也没帮上忙。", "打客服也没用。"],
        "competitor": ["别家也给我打过电话推销。", "{operator}也在拉我过去。"],
        "billing": ["上个月账单也有问题。", "还被多扣过话费。"],
    },
}

OPENERS = {"en": ["Hello,", "To whom it may concern,", "I've been with you for {years} years.", "Honestly,", "Hi."],
           "zh": ["你好，", "我用了{years}年了，", "说实话，", "我想反映个问题，"]}
CLOSERS = {"en": ["Please cancel my line.", "Thanks.", "Very disappointed.", "I want to leave.", "Fix this."],
           "zh": ["麻烦处理一下。", "太失望了。", "我要销户。", "希望尽快解决！", "谢谢。"]}


def _fill(template: str, lang: str, gen: np.random.Generator) -> str:
    slots = {k: v[gen.integers(len(v))] for k, v in SLOTS[lang].items()}
    return template.format(**slots)


def _noise_en(text: str, gen: np.random.Generator) -> str:
    words = text.split(" ")
    for i, w in enumerate(words):
        if len(w) > 4 and gen.random() < 0.04:  # a swapped pair of letters
            j = int(gen.integers(1, len(w) - 2))
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    out = " ".join(words)
    r = gen.random()
    return out.lower() if r < 0.15 else out.upper() if r < 0.2 else out


def _noise_zh(text: str, gen: np.random.Generator) -> str:
    if gen.random() < 0.3:
        text = text.replace("。", ["！", "。。", "啊。", "呢。"][int(gen.integers(4))], 1)
    if gen.random() < 0.2:
        text = text.replace("，", ",")
    return text


def simulate_complaints(
    n: int = 2_000,
    *,
    lang: str = "en",
    heldout_share: float = 0.5,
    second_topic_share: float = 0.25,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Complaint texts written from each subscriber's true churn reason.

    Parameters
    ----------
    n : int
        Subscribers (one complaint each).
    lang : {"en", "zh"}
        Language of the texts.
    heldout_share : float
        Share of texts written from the held-out sentence bank.
    second_topic_share : float
        Share of texts (with a catalogue reason) that also mention a second topic briefly.
    rng : Generator, int or None
        Random stream.

    Returns
    -------
    DataFrame
        ``subscriber_id``, ``complaint``, ``true_reason``, ``second_reason`` (None or the briefly mentioned one),
        ``bank`` (``seen``/``heldout``) and ``churned`` (0/1, drawn from :data:`CHURN_BY_REASON`).
    """
    if lang not in BANKS:
        raise ValueError(f"lang must be one of {sorted(BANKS)}; found {lang!r}")
    gen = np.random.default_rng(rng)
    reasons = gen.choice(len(REASONS), size=n, p=REASON_SHARES)
    rows = []
    for i, r in enumerate(reasons):
        reason = REASONS[r]
        bank = "heldout" if gen.random() < heldout_share else "seen"
        pool = BANKS[lang][reason][bank]
        k = 1 if gen.random() < 0.5 else 2
        picks = gen.choice(len(pool), size=min(k, len(pool)), replace=False)
        sep = " " if lang == "en" else ""
        parts = [_fill(pool[j], lang, gen) for j in picks]
        second = None
        if reason != "other" and gen.random() < second_topic_share:
            second = str(gen.choice([x for x in REASONS[:-1] if x != reason]))
            mention = _fill(SECOND[lang][second][int(gen.integers(2))], lang, gen)
            parts = [mention, *parts] if gen.random() < 0.3 else [*parts, mention]
        if gen.random() < 0.5:
            parts.insert(0, _fill(OPENERS[lang][int(gen.integers(len(OPENERS[lang])))], lang, gen))
        if gen.random() < 0.5:
            parts.append(CLOSERS[lang][int(gen.integers(len(CLOSERS[lang])))])
        text = sep.join(parts)
        text = _noise_en(text, gen) if lang == "en" else _noise_zh(text, gen)
        rows.append({"subscriber_id": f"C{i:06d}", "complaint": text, "true_reason": reason,
                     "second_reason": second, "bank": bank,
                     "churned": int(gen.random() < CHURN_BY_REASON[reason])})
    return pd.DataFrame(rows)


def analyst_extension(result: Any, true_reason: Any, *, purity: float = 0.6, n_words: int = 5) -> dict[str, Any]:
    """What an analyst would add to the catalogue after reading the topics of ``retention reasons``, simulated.

    The analyst reads the ``other`` texts of each topic (here: looks up their true reasons), and when at least
    ``purity`` of them share one catalogue reason, adds the topic's first ``n_words`` top words to that reason,
    leaving out words that also top a topic given to another reason. Topics of ``other`` texts are left alone.

    Returns
    -------
    dict
        A catalogue extension ``{"reasons": {reason: {lang: [words]}}}`` (the YAML of ``--catalogue``).
    """
    truth = np.asarray(true_reason)
    tagged = result.tagged
    chosen: dict[int, str] = {}
    for t in result.topics:
        m = tagged["topic"].to_numpy() == t.topic
        if not m.any():
            continue
        values, counts = np.unique(truth[m], return_counts=True)
        top = values[counts.argmax()]
        if counts.max() / m.sum() >= purity and top != "other":
            chosen[t.topic] = str(top)
    words: dict[str, list[str]] = {}
    owners: dict[str, set[str]] = {}
    for t in result.topics:
        if t.topic in chosen:
            for w in t.top_words[:n_words]:
                owners.setdefault(w, set()).add(chosen[t.topic])
    for t in result.topics:
        if t.topic in chosen:
            keep = [w for w in t.top_words[:n_words] if len(owners[w]) == 1]
            words.setdefault(chosen[t.topic], []).extend(w for w in keep if w not in words.get(chosen[t.topic], []))
    return {"reasons": {r: {result.lang: ws} for r, ws in words.items()}}
