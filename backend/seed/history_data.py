"""Vocabulary and shape of the demo hospital's history: item mixes, calendar factors, names and texts."""

from __future__ import annotations

from datetime import date

# Exams per day at each scale, and the default history length in days.
# demo: 570 days (19 months) at a small daily volume, so every year-over-year figure and last year's
# six-month line of the cockpit are filled after `make run` (issue 14.10); hospital: two years at full volume.
SCALES: dict[str, tuple[int, int]] = {"demo": (40, 570), "hospital": (3000, 730)}

# Patient class shares, and the items each class orders (code, weight).
CLASS_SHARES = [("outpatient", 0.55), ("inpatient", 0.25), ("emergency", 0.08), ("health_check", 0.12)]
ITEM_MIX: dict[str, list[tuple[str, float]]] = {
    "outpatient": [
        ("CT-CHEST", 10), ("CT-CHEST-E", 6), ("CT-HEAD", 3), ("CT-ABD-E", 6), ("CT-CTA", 2), ("CT-GCP", 1.5),
        ("CT-LN-TR", 1), ("CT-LDCT", 1), ("MR-BRAIN", 4), ("MR-LIVER", 4), ("MR-BREAST", 2.5),
        ("MR-PROSTATE", 1.5), ("MR-GCP", 1), ("DR-CHEST", 5), ("DR-BONE", 2), ("MG-BILAT", 3), ("RF-UGI", 1.5),
        ("US-BREAST", 4), ("US-THYROID", 4), ("US-VASC", 1.5), ("US-OB", 1.5), ("US-ABD", 4),
        ("E-CT-CHEST", 3), ("E-MR-BRAIN", 1), ("E-DR-CHEST", 1.5), ("E-US-ABD", 1.5),
    ],
    "inpatient": [
        ("CT-CHEST", 8), ("CT-CHEST-E", 7), ("CT-HEAD", 3), ("CT-ABD-E", 7), ("CT-GCP", 1.5), ("CT-LN-TR", 0.5),
        ("MR-BRAIN", 3), ("MR-LIVER", 4), ("MR-BREAST", 1), ("MR-PROSTATE", 1), ("MR-GCP", 1),
        ("DR-CHEST", 7), ("DR-BONE", 1), ("RF-UGI", 1), ("US-ABD", 3), ("US-VASC", 3), ("E-CT-CHEST", 1),
    ],
    "emergency": [
        ("CT-HEAD", 8), ("CT-CHEST", 6), ("CT-ABD-E", 4), ("DR-CHEST", 5), ("DR-BONE", 4), ("US-ABD", 4),
        ("MR-BRAIN", 1), ("E-CT-CHEST", 2), ("E-DR-CHEST", 1), ("E-US-ABD", 1),
    ],
    "health_check": [
        ("CT-LDCT", 8), ("DR-CHEST", 6), ("US-THYROID", 5), ("US-BREAST", 4), ("US-ABD", 6), ("MG-BILAT", 3),
        ("US-VASC", 2),
    ],
}
FEMALE_ONLY = frozenset({"MG-BILAT", "MR-BREAST", "US-OB", "US-BREAST"})
MALE_ONLY = frozenset({"MR-PROSTATE"})

# Minutes on the table, by modality (low, high).
DURATION_MIN = {"CT": (5, 15), "MR": (20, 45), "DX": (2, 6), "MG": (8, 15), "RF": (15, 30), "US": (8, 20)}
# Weekday factors, Monday first: Sundays are quiet, Mondays busy.
WEEKDAY = (1.12, 1.06, 1.04, 1.03, 1.0, 0.68, 0.42)
MONTH = {1: 0.97, 2: 0.9, 3: 1.04, 4: 1.02, 5: 1.0, 6: 1.0, 7: 1.03, 8: 1.03, 9: 1.01, 10: 0.95, 11: 1.02,
         12: 0.99}
# Chinese New Year's day (Spring Festival): volumes fall for about a week before and after.
SPRING_FESTIVAL = [date(2023, 1, 22), date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6),
                   date(2028, 1, 26), date(2029, 2, 13), date(2030, 2, 3)]
# Other public holidays (month, first day, days): New Year, Labour Day, National Day week.
HOLIDAYS = [(1, 1, 1), (5, 1, 5), (10, 1, 7)]
GROWTH_PER_YEAR = 0.07

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
            "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建国文辉力鹏斌宇浩凯健俊帆帅旭宁龙林欣婷雪琳晨"
         "阳佳丹倩颖璐瑶蕾薇梅兰凤云莉燕玲琴青春海波涛峰亮志新荣昌德福禄寿喜祥瑞安康永长发达成")
REGIONS = ("330102", "330106", "330108", "330110", "330182", "330302", "330402", "330502", "330602", "330781",
           "331002", "330122", "330203", "330212")
DOCTOR_NAMES = ("王建国", "李明", "张晓燕", "刘志强", "陈丽", "杨帆", "黄伟", "赵敏", "吴涛", "周静", "徐磊", "孙悦")

CLINICAL_INFO = ("咳嗽2周，胸部CT复查", "肺结节随访", "乳腺癌术后复查", "肝占位待排", "头痛头晕3天", "体检",
                 "化疗后疗效评估", "甲状腺结节随访", "腹痛待查", "外伤后疼痛", "前列腺特异抗原升高",
                 "结直肠癌术后随访", "胸闷气促", "临床试验访视", "发热伴咳嗽", "吞咽不适")
CANCEL_REASONS = ("患者要求取消", "临床医生撤销申请", "重复开单", "患者未到检", "检查禁忌（造影剂过敏）",
                  "改约其他院区")
CRITICAL_FINDINGS = {
    "CT": ("大面积肺栓塞", "急性脑出血", "主动脉夹层", "张力性气胸", "消化道穿孔", "急性大面积脑梗死"),
    "MR": ("急性脑梗死", "脊髓压迫", "脑疝"),
    "DX": ("张力性气胸", "消化道穿孔（膈下游离气体）"),
    "US": ("宫外孕破裂", "主动脉瘤破裂"),
    "MG": ("可疑恶性病变需紧急处理",),
    "RF": ("消化道穿孔",),
}
FINDINGS = {
    "CT": (("双肺纹理清晰，未见明确结节及实变影；纵隔淋巴结未见肿大。", "胸部CT未见明显异常。"),
           ("右肺上叶见直径约8mm磨玻璃结节，边界清。", "右肺上叶磨玻璃结节，建议3个月后复查。"),
           ("肝S6段见低密度灶，增强扫描边缘强化。", "肝S6段占位，转移瘤待排，建议MR进一步检查。"),
           ("术区未见明确复发征象，双肺散在小结节较前相仿。", "术后改变，较前片相仿。")),
    "MR": (("脑实质内未见异常信号，脑室系统不大。", "头颅MR平扫+增强未见明显异常。"),
           ("肝内多发T2高信号灶，增强后呈环形强化。", "肝多发转移瘤可能。"),
           ("左乳外上象限见不规则强化肿块，TIC呈流出型。", "左乳肿块，BI-RADS 5类。")),
    "DX": (("两肺野清晰，心影不大，双膈面光整。", "胸部正位片未见明显异常。"),
           ("右下肺野见斑片状密度增高影。", "右下肺炎症可能，建议复查。")),
    "MG": (("双乳呈不均匀致密型，未见明确肿块及可疑钙化。", "BI-RADS 1类。"),
           ("左乳外上象限见簇状细小钙化。", "左乳钙化，BI-RADS 4A类，建议活检。")),
    "RF": (("钡剂通过顺利，食管、胃及十二指肠黏膜规则。", "上消化道造影未见明显异常。"),),
    "US": (("甲状腺右叶见4mm低回声结节，边界清，形态规则。", "甲状腺右叶结节，TI-RADS 3类。"),
           ("肝胆胰脾未见明显异常。", "腹部超声未见明显异常。"),
           ("左乳10点方向见低回声结节，纵横比<1。", "左乳结节，BI-RADS 3类。")),
}
AMEND_REASONS = ("补充测量数据", "更正左右侧描述", "临床沟通后补充诊断意见", "修正错别字")
NOTIFY_TARGETS = ("主管医师", "值班医师", "护士站")


def spring_festival_factor(day: date) -> float:
    """Fewer exams from about a week before Spring Festival to ten days after it."""
    for cny in SPRING_FESTIVAL:
        delta = (day - cny).days
        if -7 <= delta <= 10:
            if -2 <= delta <= 4:
                return 0.25
            return 0.55 if delta < 0 else 0.7
    return 1.0


def holiday_factor(day: date) -> float:
    for month, first, length in HOLIDAYS:
        if day.month == month and first <= day.day < first + length:
            return 0.5
    return 1.0


def day_volume(day: date, *, per_day: int, years_ago: float) -> float:
    """Expected exams ordered on `day`, before noise: weekday, season, holidays and yearly growth."""
    growth = float((1 + GROWTH_PER_YEAR) ** (-years_ago))
    return (per_day * WEEKDAY[day.weekday()] * MONTH[day.month] * spring_festival_factor(day)
            * holiday_factor(day) * growth)
