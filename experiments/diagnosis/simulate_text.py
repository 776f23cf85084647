"""Simulated complaint texts in English and Simplified Chinese, written from each subscriber's true churn reason.

Every subscriber has a true reason (``network``, ``price``, ``customer_service``, ``competitor``, ``billing`` or
``other``) and churns with a probability that depends on it. The complaint is assembled from sentence banks per
reason and language, with slots (places, amounts, operators, minutes) filled at random, an optional greeting or
closing line, in a quarter of the texts a short mention of a *second* topic (before or after the main complaint),
and noise (English: swapped letters, case; Chinese: particles, mixed punctuation).

Three banks per reason: ``seen`` sentences were written beside the keyword catalogue; ``heldout`` sentences were
written after the catalogue was frozen, as a customer would put it, and the catalogue was not changed to fit them
(some contain no catalogue keyword at all); ``fresh`` sentences (:data:`FRESH`) were written by two separate
sessions that saw neither the catalogue nor the other banks, and the catalogue's broad and indirect lexicons were
written, blind to every bank, by two others. Each text records its bank, so the tagging can be scored on wording that
the catalogue was not written from. ``other`` texts are about three themes the catalogue has no keywords for (moving
abroad, a broken or lost phone, a work phone from the employer), for the topic model to find.

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

#: The ``fresh`` bank: 24 sentences per reason and language written on 2026-12-08 by two separate sessions that saw
#: neither the keyword catalogue nor the other banks nor each other's sentences. The first 12 of each list: brief, the
#: six reasons' one-line definitions, natural and varied wording, at least half without the obvious category word.
#: The last 12: the same, each from a different kind of customer and channel (a pensioner on the hotline, a student's
#: app review, ...), two thirds without the category word; they decided (and only they) whether the catalogue's
#: indirect lexicon was kept. It is the test of wording nobody tuned to.
FRESH: dict[str, dict[str, list[str]]] = {
    "en": {
        "network": [
            "Every time I walk into my kitchen the call drops, and I live right in the middle of the city.",
            "Mobile data is so slow I can't even load a map while I'm driving.",
            "There was no service at all in our area for two whole days last week and nobody warned us.",
            "My signal goes from four bars to nothing the moment I get on the train.",
            "People I ring keep telling me my voice is breaking up and sounds robotic.",
            "My phone says 5G but pages take forever to load and videos just buffer.",
            "Coverage at my new flat is basically nonexistent, I have to stand by the window to send a text.",
            "Honestly, I still can't make a single call from my office building without it cutting out halfway.",
            ("The internet stops working every evening around 8pm, probably because everyone's online, but that's "
             "not my problem."),
            "Texts arrive hours late and sometimes not at all, so I miss my verification codes.",
            "Great, another outage. Third one this month. Really reliable network you've got there.",
            "Speed tests show less than 1 Mbps in the town centre, so unlimited data is pointless when nothing loads.",
            ("I'm ringing because every time my daughter calls me, her voice breaks up and then the line just goes"
             " dead after a minute. It's been like this for weeks in my flat."),
            ("1 star. Can't even load a lecture video on campus, it just spins forever. Paying for 4G and getting "
             "dial-up speeds."),
            ("Dear team, my card terminal runs on mobile data and it keeps failing to connect at lunchtime, so "
             "customers walk out without paying. Please sort this out."),
            "Maps kept freezing halfway through my routes because the internet cut out every time I hit the ring road.",
            ("Once again not a single bar in our house. Had to stand in the garden in the rain to phone the GP "
             "about my son. Ridiculous."),
            "Ping jumps from 40 to 900 every evening, lag spikes every few seconds, totally unplayable.",
            ("Landed at the airport and the phone just said 'No Service' for an hour, then data kept dropping the "
             "whole trip."),
            ("Up here in the village you get one bar if you stand by the window, and it vanishes completely when "
             "it rains."),
            ("On night shifts at the hospital my phone shows SOS only, so my family can't reach me if something "
             "happens at home."),
            ("Video calls with clients freeze and drop every ten minutes. I've lost two jobs because I look "
             "unprofessional."),
            "data is sooo slow it takes like 5 mins to send one snap, literally unusable",
            ("The network was down in our whole area for two days and nobody told us anything. I couldn't call my "
             "family back home."),
        ],
        "price": [
            "The monthly fee went up again in January and I just can't justify it anymore.",
            "I'm paying almost fifty a month for a basic plan, which is ridiculous.",
            "Too expensive for what you get, simple as that.",
            "As a pensioner I simply can't afford this tariff on my income.",
            "You raised the cost of my plan by 15% mid-contract and gave me nothing extra for it.",
            "For what I hand over every month I'd expect a lot more than 5GB of data.",
            "Your tariffs are way above what I think is reasonable for a phone line.",
            "Wow, another 'annual adjustment' to my monthly rate. Lovely way to treat loyal customers.",
            "I only use my phone for calls and even the cheapest plan is more than I want to spend.",
            "The roaming add-on costs an absolute fortune, I won't be paying that again.",
            "With everything going up, my phone plan is one expense I need to cut, and it's just too much.",
            "Poor value for money now compared to what the same plan was two years ago.",
            ("I'm on a pension, dear, and forty a month just for a phone I use to ring my grandchildren is more "
             "than I can manage now."),
            "Way too steep for a student budget. Thirty a month for 10GB? No thanks.",
            ("Your monthly fee for my three business lines went up 20% this year with nothing extra in return. I "
             "can't justify that to my accountant."),
            "Can't afford it anymore. Simple as that.",
            "Four kids' phone plans now add up to more than our electricity. Something has to give.",
            "Half a day's wages every month for an unlimited plan is a total rip-off.",
            "Fifteen a day for the travel pass just to check my emails abroad is daylight robbery.",
            "The monthly plan is more than I spend on bread in a month. It's just too dear for folk like us.",
            ("Every time I renew, the tariff creeps up a few more pounds. I'm done paying more for exactly the "
             "same thing."),
            "For what I hand over each month I'd expect a lot more than 5GB. Terrible value for money.",
            "my mum says the plan is too expensive so shes moving me to pay as you go",
            "The price went up again. I send most of my wages home, I cannot pay this much for a SIM.",
        ],
        "customer_service": [
            "I waited 45 minutes on hold just to be transferred to someone who hung up on me.",
            "The staff at the shop were rude and clearly didn't want to help.",
            "I've explained my problem to four different agents and every one of them told me something different.",
            "Nobody ever answers emails. I sent three and got nothing back.",
            "The chat assistant just loops me back to the FAQ no matter what I type.",
            "I was promised a callback within 24 hours. That was two weeks ago.",
            "The customer service is appalling, frankly.",
            "The young man in the store was patronising and talked over me the whole time.",
            "Your support team closed my ticket without actually fixing anything.",
            ("Dear Sir or Madam, I wish to formally complain about the unprofessional manner in which your "
             "representative handled my enquiry."),
            "Press 1, press 2, press 3... and never once a real human on the line.",
            "The agent on the phone was so clueless that I ended up explaining my own account to him.",
            ("I was on hold for fifty minutes and then the young lady hung up on me when I asked her to speak a "
             "bit slower."),
            ("The in-app chat is just a bot that keeps sending me the same FAQ link. Never once reached an actual "
             "human."),
            ("I have emailed four times about my business account and received nothing but automated replies. "
             "Nobody has called me back as promised."),
            "Asked the guy at the shop a simple question and he rolled his eyes and told me to google it.",
            ("Went into the store with my toddler, waited 40 minutes while the staff chatted among themselves, and"
             " nobody came over. Never again."),
            ("Got transferred five times between departments and not one person could answer a basic question. An "
             "hour of my life gone."),
            ("Called the helpline from abroad for help and all they said was to visit a branch when I get home. "
             "Useless."),
            ("Nearest store is 40 km away, and when I finally got there they said they couldn't help and I'd have "
             "to phone instead."),
            "The agent was condescending and spoke to me like I was an idiot.",
            ("Every time I call I have to explain the whole thing from scratch because nobody writes anything "
             "down, and then my ticket got closed without anything being fixed."),
            "the customer service guy was so rude to me just bc im 15",
            "Customer service only speak fast English and would not find anyone to help me when I did not understand.",
        ],
        "competitor": [
            "Another operator is offering me twice the data for the same money, so I'm moving.",
            "I'd like my PAC code please, I'm porting my number to a different provider.",
            "My whole family is on another company's family plan, so I'm joining them.",
            "The other company is giving me a free phone and six months at half price if I switch.",
            "I'm switching providers at the end of the month.",
            "A rival offered me a SIM-only deal with unlimited everything, too good to turn down.",
            "Please cancel my contract, I've already signed up with someone else and want to keep my number.",
            ("My colleague moved to a different operator and keeps telling me how much happier he is, so I'm going"
             " to try it."),
            "I got an offer from another carrier that includes a new handset and a streaming subscription, so I'm off.",
            "How do I transfer my number out? I'm going with the provider my work uses.",
            "Just got a text from the other network with a welcome bonus for switchers, and I'm taking it.",
            "I've been comparing offers for weeks and I've decided to go with a different carrier.",
            ("My son has put the whole family on one plan with the company he uses, so I'd like my number moved "
             "over to them, please."),
            "Another provider is giving students free music streaming and double data. Porting out next week.",
            ("Please send me the porting code for all five of our lines. We have accepted an offer from another "
             "operator."),
            "A rep from the other carrier at the mall gave me a better deal on the spot, so I'm off.",
            ("Anyone else moving to that new operator that just launched? Their family bundle looks way better, "
             "we're signing up this weekend."),
            "Going with the provider that does the gamer package where game traffic doesn't eat your allowance.",
            "A rival carrier includes free roaming across Europe on their basic plan, so I'm taking my number there.",
            "Everyone in the village has gone over to the other company now, so I'm going too.",
            ("The hospital has a staff deal with another mobile company and half my ward has joined, so I'm "
             "transferring my number across."),
            "Got a better offer elsewhere. Please confirm my number transfer.",
            "all my friends are with a different company and they get free calls to each other so im leaving",
            "I want to switch to the company that has cheap calls to my home country.",
        ],
        "billing": [
            "I was charged twice for the same month.",
            "My bill shows roaming charges but I haven't left the country.",
            "There's a 20 pound charge for some subscription service I never signed up for.",
            "I topped up 30 yesterday and my balance is already empty without me using anything.",
            "I pay by direct debit, yet you're saying my account is in arrears.",
            "The refund you promised after my cancellation still hasn't reached my bank account.",
            "The invoice amount doesn't match what was agreed when I signed the contract, please correct it.",
            "Money keeps disappearing from my credit for 'premium SMS' I never sent.",
            "I was billed for a full month even though I cancelled on the 3rd.",
            "You took the payment from my card but the account still shows unpaid and I got a threat to cut me off.",
            "Please explain the mysterious 'service adjustment' line on this month's statement.",
            "I got overcharged for data usage even though I'm on an unlimited plan.",
            ("There's been money taken from my account twice this month for the same phone, and I only have the "
             "one line."),
            "App said I had 10 in credit, next morning it's zero and I hadn't used anything. Where did my balance go?",
            "The March invoice lists three lines but we only have two. Please correct it and send a revised invoice.",
            ("They deducted extra for going over my data when I'm on unlimited, and I'm still waiting for that "
             "money back."),
            "Found game subscriptions on my son's account that he never signed up to. 35 gone. We want a refund.",
            "Topped up 20 and it never showed on my balance, even though the payment went through on my bank app.",
            "Came back from holiday to roaming charges even though I had roaming switched off the whole time.",
            "I paid at the post office on time and still got a letter saying my account is overdue.",
            "I was promised a refund when I cancelled the add-on three months ago and I still haven't seen a penny.",
            "The direct debit was taken on the 3rd instead of the 28th and now my bank account is overdrawn.",
            "my bill is like 3x what it normally is wtf",
            "I was charged for international calls I never made.",
        ],
        "other": [
            "I'm moving abroad next month so I won't need this line anymore.",
            "My dad passed away and I need to close his account.",
            "I dropped my phone in the sea and I'm not bothering to replace it for now.",
            "My company is giving me a work phone, so I don't need a personal contract.",
            "This was my daughter's line, but she's got her own contract now that she's turned 18.",
            "Going travelling for a year, so I'm cancelling everything before I go.",
            "The battery on my handset is dying and the screen is cracked, the phone itself is just falling apart.",
            "I'm doing a digital detox and cutting down to just the landline.",
            "We're getting divorced and need to split up the shared contract.",
            "Mum has gone into a care home and won't be using her mobile anymore.",
            "I had two SIMs and realised I only ever use one of them.",
            "Nothing wrong with the service really, I just closed my old business and don't need its number anymore.",
            "My husband passed away last month and I need to close his line.",
            "Graduating and moving back to my home country, so I won't need a local number anymore.",
            "I'm closing the shop at the end of the month, so the business lines are no longer needed.",
            "The company gives us a work phone now, so I don't need my own contract.",
            "We're cutting down on screen time in our house, so the kids' phones are going away for now.",
            "Smashed my phone and it won't turn on, not buying a new one for a while.",
            "Relocating overseas for a new job next month.",
            "My eyesight has gone and I can't use a mobile anymore, my daughter does all my calls for me.",
            "Just had a baby and I'm on maternity leave, so I don't need my second work SIM for now.",
            "I'm taking a year off smartphones altogether and going back to a landline.",
            "parents took my phone away bc of my grades lol",
            "The building job is finished and I am going back to my village for good.",
        ],
    },
    "zh": {
        "network": [
            "在家里信号只有一格，打个电话还得跑到阳台上去。",
            "一进地铁网就断，刷个视频一直在转圈。",
            "昨天晚上整个小区都没服务，电话打不出去也上不了网，到现在也没个说法。",
            "通话老是断断续续的，对方说我声音跟机器人似的。",
            "手机上显示的是5G，可网速比以前的4G还慢，网页半天打不开。",
            "我们村压根就没覆盖到，要走到村口才能打电话。",
            "每天晚上八九点一到高峰，网速就慢得跟蜗牛一样。",
            "别人给我打电话经常打不通，老提示我不在服务区。",
            "短信收得特别慢，验证码过期了才到。",
            "单位在地下室，进去以后就完全没网，工作群的消息都收不到。",
            "你们这网络可真稳定啊，一个月掉线三回。",
            "开车上高速，一路上时有时无的，导航都用不了。",
            "我跟你们说啊，我在家里打电话，说不到两句就断了，对面听我说话一卡一卡的，这都好几个礼拜了。",
            "一星。宿舍里刷个视频转半天圈，上课直播根本进不去，交的是4G的钱用的是2G的速度。",
            "您好，我店里收款提醒用的是手机流量，一到中午高峰页面就打不开，顾客等不及直接走了，请尽快处理。",
            "跑单的时候导航老是卡住，订单页面刷不出来，超时好几单被罚钱。",
            "家里又是一格都没有，孩子发烧想给医生打个电话都得跑到楼道里，真是服了。",
            "晚上打排位延迟直接飙到460，一团战就掉线，队友都骂我挂机。",
            "高铁上一路都是“无服务”，出了隧道半天也连不上，工作邮件根本发不出去。",
            "我们村里只有站到院坝上才有一点点，进屋就没了，下雨天更是打不通。",
            "值夜班的时候病房里手机完全打不进来，家里人有急事都找不到我。",
            "跟客户开视频会议画面老是卡死，声音断断续续的，已经丢了两个单子了。",
            "流量慢到发个语音都要转半天 服了 还不如没有",
            "我们工地那一片网络断了两天，也没人说一声，想给家里打个电话都打不了。",
        ],
        "price": [
            "套餐太贵了，每个月一百多块，实在用不起。",
            "月租又涨了二十块，这日子没法过了。",
            "我退休了，每月就那点退休金，这个套餐负担不起。",
            "花这么多钱才给10个G流量，太不划算了。",
            "每个月掏的钱跟得到的东西根本不成正比。",
            "老用户越用越贵，新用户反而便宜，这合理吗？",
            "学生党一个，一个月生活费就那么点，话费占了一大块。",
            "国际漫游包贵得离谱，出一趟国光流量包就好几百。",
            "最低档的套餐也要五十八，我平时就打打电话，根本用不了那么多。",
            "资费标准太高了，希望能有便宜点的选择。",
            "合约到期以后续费价格直接翻倍，谁受得了。",
            "每个月这笔开销太肉疼了，想降档又说没有更低的套餐。",
            "我一个月退休金就那么点，光手机套餐就要八十多，我就是给孙子打打电话，实在负担不起了。",
            "对学生太不友好了，一个月几十块才给那么点流量，生活费都不够花。",
            "您好，今年我们店里几条线的月租又涨了两成，服务一点没多，这个开支实在撑不住了。",
            "太贵了，用不起。",
            "一家四口的手机套餐加起来比水电费还多，只能先给孩子停一张。",
            "不限量套餐一个月两百多，性价比太低了，纯纯割韭菜。",
            "出国漫游包一天二三十，出去一周光这个就好几百，简直抢钱。",
            "一个月的套餐钱够买好几袋米了，我们种地的哪舍得花这么多。",
            "每次合约到期续约都要多加十几块，同样的东西越用越花钱，不想再当冤大头了。",
            "每个月交这么多才给十几个G，这钱花得一点都不值。",
            "我妈说我这个套餐太贵了 要给我换成最便宜的那种",
            "价格又涨了，我挣的钱要寄回家，一张卡花这么多不划算。",
        ],
        "customer_service": [
            "打客服热线排了四十分钟队，接通后没说三句话就把我挂了。",
            "营业厅的工作人员态度特别差，多问两句就不耐烦。",
            "在线客服全是机器人，翻来覆去就那几句话，根本解决不了问题。",
            "说好24小时内回电，一个星期过去了也没人联系我。",
            "换了三个客服，每个人说法都不一样，到底听谁的？",
            "在APP里提交的工单直接被关闭了，问题根本没人处理。",
            "客服只会说非常抱歉给您带来不便，别的什么都不会。",
            "营业员一个劲推销新套餐，我要办的业务她反而爱管不管。",
            "本人就贵公司工作人员在受理业务过程中的不当言行进行正式投诉。",
            "转人工转了半天转不过去，按了一圈数字又回到主菜单。",
            "发了好几封邮件反映问题，一封回复都没收到。",
            "老人去营业厅办事，工作人员爱答不理的，让人很心寒。",
            "我打你们那个电话，等了四十多分钟才有人接，我让她说慢一点，她直接就给我挂了。",
            "APP里的在线咨询就是个机器人，翻来覆去就发同一个链接，根本找不到真人。",
            "我已经发了四封邮件询问企业账户的事情，每次都是自动回复，说好的回电也一直没人打来。",
            "去营业厅问个事，柜台的小伙子头都不抬，让我自己回去百度。",
            "抱着孩子在营业厅等了四十分钟，工作人员在那儿聊天嗑瓜子，没一个人理我们，再也不去了。",
            "打过去被转了五次，每个部门都说不归他们管，一个简单问题问了一个小时没结果。",
            "在国外打热线求助，对方就一句“请您回国后到营业厅办理”，要你们有什么用。",
            "最近的营业厅在县城，坐一个多小时车过去，人家说这事办不了，让我回去打电话。",
            "接电话的那个人说话阴阳怪气的，好像我什么都不懂一样。",
            "每次打过去都要从头讲一遍，根本没人做记录，问题没解决工单就直接给关了。",
            "客服态度超差 看我是学生就爱答不理的",
            "客服普通话讲得飞快，我听不懂让她慢点，她就不耐烦了，态度太差。",
        ],
        "competitor": [
            "别家同样的价格给双倍流量，我准备转过去了。",
            "我要办携号转网，麻烦告诉我需要什么手续。",
            "家里人都用的另一家运营商，办了亲情套餐，我也跟着换过去。",
            "另一家运营商的营业厅说转过去送手机，还送半年话费，不心动都难。",
            "已经在别家办好新卡了，这张卡下个月就不用了。",
            "公司统一用的是另一家的卡，我这边准备转网了。",
            "朋友都换到别的运营商了，说人家宽带加手机一起办特别划算。",
            "听说另一家新出了个不限量套餐，我打算去试试。",
            "比较了一圈，还是其他公司的方案更适合我，准备换了。",
            "请帮我办理号码转出，我要带到新的运营商那边用。",
            "别家又送宽带又送电视会员，我还留在这干嘛。",
            "同事推荐我换到他们用的那家，说那边的校园卡活动很给力。",
            "我儿子给全家弄了个家庭套餐，都在他那个公司，我这个号也要过去，你们帮我办一下。",
            "别家给学生送会员还送双倍流量，下周就走了。",
            "您好，我们已经接受了另一家运营商的企业方案，请提供五个号码的携转授权码。",
            "商场里另一家的推广员给了我更好的方案，当场就办了，这边不用了。",
            "有没有人也准备去那家新开的运营商？他们的亲情套餐看着划算多了，我们周末就去办。",
            "隔壁家出了游戏专属套餐，玩游戏不走套餐流量，果断投奔过去了。",
            "另一家的套餐含东南亚免费漫游，我准备把号码带过去。",
            "村里人都去办了那家的卡，我也跟着办了，这张就不用了。",
            "医院跟另一家公司谈了员工优惠，科室里的人都办了，我也准备过去。",
            "在别处拿到了更好的方案，请尽快确认我的号码迁出申请。",
            "我同学全用的另一家 互相打电话免费 我也要去那边",
            "我要携号转网，那边打老家电话便宜。",
        ],
        "billing": [
            "这个月账单莫名其妙多扣了三十块，我没开通任何业务。",
            "充了一百块话费，显示充值成功，可余额一点没变。",
            "我从来没订过什么彩铃，每个月却都在扣这个钱。",
            "明明已经销户了，下个月还在从我银行卡里扣钱。",
            "同一笔费用扣了两次，麻烦核实一下退给我。",
            "说好退的款，一个多月了还没到账。",
            "账单上有一笔国际长途费，可我根本没往国外打过电话。",
            "我办的是不限量套餐，怎么还收我超出流量的费用？",
            "自动缴费明明已经成功了，系统却提示我欠费要停机。",
            "发票金额和实际缴费金额对不上，请尽快更正。",
            "余额突然变成负数了，查了详单也看不出扣在哪了。",
            "套餐是月中才办的，凭什么按整月收费？",
            "这个月我存折上被划走了两次钱，都是这个手机号的，我就这一个号啊。",
            "APP上明明显示还剩二十块，第二天一看变成零了，我啥也没用，钱去哪了？",
            "您好，三月份的发票上列了三个号码，可我们只有两个，麻烦更正后重新开一张。",
            "我办的是不限量，却说我超出流量要另外收钱，多收的钱到现在还没退回来。",
            "孩子的号上莫名其妙开通了好几个游戏包月，我们根本没订过，三十五块没了，要求退钱。",
            "充了五十块到现在都没到账，银行卡那边显示已经付款成功了。",
            "出国全程关了漫游，回来还是被扣了几百块漫游费。",
            "我按时去村里小卖部代缴的，结果还是收到短信说我欠费要停机。",
            "三个月前取消增值业务时说好给我退款，到现在一分钱没见着。",
            "自动代扣本来是每月28号，这次3号就划走了，害我银行卡透支。",
            "这个月账单是平时的三倍 离谱",
            "我从来没打过国际长途，怎么话费里多出来一百多的长途费。",
        ],
        "other": [
            "我要出国定居了，这个号码以后用不上了。",
            "老人已经去世了，想把他名下的号码注销掉。",
            "手机丢了，暂时不打算再买，先把号停了吧。",
            "单位给配了工作手机，私人这个号就没必要留了。",
            "孩子上大学自己办了卡，家里这张副卡用不着了。",
            "我要回老家发展了，这边的号留着也没什么用。",
            "手机用了五年，电池不行老是自动关机，跟卡没关系，就是机器太旧了。",
            "离婚了，两个人一起办的那个家庭套餐得拆开。",
            "这个号以前是做生意用的，现在店关了，不需要了。",
            "手上两张卡，发现其实只用一张，另一张就注销吧。",
            "家里老人住进养老院了，手机基本不用了。",
            "要去当兵了，部队里不让用手机，号先销掉。",
            "我老伴走了，他那个号用不着了，想来注销掉。",
            "毕业回老家了，这边的号以后用不上了。",
            "店月底就关门不干了，几条业务线都不需要了。",
            "站点给配了工作手机，自己这张卡就不用了。",
            "想让孩子少玩手机，先把他的卡停了再说。",
            "手机摔坏了开不了机，最近也不打算买新的，先不用了。",
            "公司派我常驻国外，下个月就走，国内的号暂时用不上。",
            "我眼睛不行了，看不清手机屏幕，以后有事都是闺女帮我打。",
            "刚生完孩子在休产假，第二张工作卡暂时不需要了。",
            "打算一年不碰智能手机，家里装了座机就够了。",
            "期末考砸了 手机被我爸没收了",
            "工地的活干完了，要回老家不出来了，这边的卡不用了。",
        ],
    },
}
for _lang, _reasons in FRESH.items():
    for _reason, _sentences in _reasons.items():
        BANKS[_lang][_reason]["fresh"] = _sentences

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
    fresh_share: float = 0.0,
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
    fresh_share : float
        Share of texts written from the ``fresh`` bank (:data:`FRESH`); the rest come from the ``seen`` bank.
    second_topic_share : float
        Share of texts (with a catalogue reason) that also mention a second topic briefly.
    rng : Generator, int or None
        Random stream.

    Returns
    -------
    DataFrame
        ``subscriber_id``, ``complaint``, ``true_reason``, ``second_reason`` (None or the briefly mentioned one),
        ``bank`` (``seen``/``heldout``/``fresh``) and ``churned`` (0/1, drawn from :data:`CHURN_BY_REASON`).
    """
    if lang not in BANKS:
        raise ValueError(f"lang must be one of {sorted(BANKS)}; found {lang!r}")
    if not (0 <= heldout_share and 0 <= fresh_share and heldout_share + fresh_share <= 1):
        raise ValueError(f"heldout_share and fresh_share must be shares adding up to at most 1; found "
                         f"{heldout_share} and {fresh_share}")
    gen = np.random.default_rng(rng)
    reasons = gen.choice(len(REASONS), size=n, p=REASON_SHARES)
    rows = []
    for i, r in enumerate(reasons):
        reason = REASONS[r]
        u = gen.random()  # one draw, so that fresh_share=0 gives the texts of before
        bank = "heldout" if u < heldout_share else "fresh" if u < heldout_share + fresh_share else "seen"
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


def analyst_extension(result: Any, true_reason: Any, texts: Any, *, purity: float = 0.6, n_words: int = 5,
                      max_share: float = 0.05) -> dict[str, Any]:
    """What an analyst would add to the catalogue after reading the topics of ``retention reasons``, simulated.

    The analyst reads the ``other`` texts of each topic (here: looks up their true reasons), and when at least
    ``purity`` of them share one catalogue reason, adds the topic's first ``n_words`` top words to that reason,
    leaving out words that also top a topic given to another reason and generic words, found in more than
    ``max_share`` of all texts (such as "phone" or "want", by which no analyst would name a reason). Topics of
    ``other`` texts are left alone.

    Returns
    -------
    dict
        A catalogue extension ``{"reasons": {reason: {lang: [words]}}}`` (the YAML of ``--catalogue``).
    """
    from experiments.diagnosis.reasons import tokenizer

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
    tokenize = tokenizer(result.lang)
    docs = [set(tokenize(str(x))) for x in texts]
    generic = {w for t in result.topics for w in t.top_words if sum(w in d for d in docs) > max_share * len(docs)}
    specific = {t.topic: [w for w in t.top_words if w not in generic][:n_words] for t in result.topics}
    words: dict[str, list[str]] = {}
    owners: dict[str, set[str]] = {}
    for t in result.topics:
        if t.topic in chosen:
            for w in specific[t.topic]:
                owners.setdefault(w, set()).add(chosen[t.topic])
    for t in result.topics:
        if t.topic in chosen:
            keep = [w for w in specific[t.topic] if len(owners[w]) == 1]
            words.setdefault(chosen[t.topic], []).extend(w for w in keep if w not in words.get(chosen[t.topic], []))
    return {"reasons": {r: {result.lang: ws} for r, ws in words.items()}}
