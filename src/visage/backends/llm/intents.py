"""What a message is: greeting, thanks, small talk, a follow-up, a repair, a request the avatar cannot
do, a question about the present, or a question for the knowledge base; in English and Chinese.

Why rules: social messages are few and formulaic, rules for them are instant and predictable, and a
person can read and extend the lists below. The brain reads a message's intent before it searches the
knowledge base, so that "book a table" or "what time is it" never meets an FAQ entry at a shared word.
What the user says about themselves is read in memory.py, chit-chat and feelings in small_talk.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from visage.core.text import is_chinese_language


class Intent(str, Enum):
    QUESTION = "question"  # anything else: ask the knowledge base
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    HOW_ARE_YOU = "how_are_you"
    WHO_ARE_YOU = "who_are_you"
    CAPABILITIES = "capabilities"
    MORE = "more"  # tell me more, why, 还有呢: continue the previous topic
    ANOTHER = "another"  # another one, 再来一个: another joke after a joke, else more of the topic
    ABOUT = "about"  # and what about X?: X, in the previous topic's context
    YES = "yes"
    NO = "no"
    ACK = "ack"  # ok, I see
    REPAIR = "repair"  # what?, say that again: repeat the last reply
    SLOWER = "slower"  # slower please: repeat the last reply, slower (and speak slower from now on)
    FASTER = "faster"  # speak faster: say so, and speak faster from now on
    LOUDER = "louder"  # louder, I can't hear you: repeat the last reply, louder (and from now on)
    QUIETER = "quieter"  # not so loud: say so, and speak more softly from now on
    CRITICISM = "criticism"  # the user faults the host itself: `detail` is "knowledge" or "understanding"
    JOKE = "joke"
    PRESENT = "present"  # the time, the date, the weather, the news: `detail` says which
    CANNOT = "cannot"  # a task the avatar cannot do (book, buy, call...): `detail` says which


@dataclass(frozen=True)
class Message:
    """A message read by the rules: its main intent, the social formulas around it, and what is left."""

    intent: Intent
    greeting: bool = False
    thanks: bool = False
    rest: str = ""  # the message without its greeting or thanks: the question, if any
    about: str = ""  # X in "what about X?"
    detail: str = ""  # which part of the present, which task, which greeting
    greeting_word: str = ""  # "good_morning", ... when the user greeted by the time of day


_I = re.IGNORECASE
_GREETING = {
    "en": re.compile(r"^\s*(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening)|yo)\b"
                     r"(\s+(there|visage|everyone|all|friend))?[\s,!.~]*", _I),
    "zh": re.compile(r"^\s*(你好|您好|嗨|哈喽|哈啰|早上好|早安|上午好|下午好|晚上好|大家好|hi|hello)[啊呀呀！!，,。~\s]*", _I),
}
_TIME_OF_DAY = (("good_morning", r"morning|早上好|早安|上午好"), ("good_afternoon", r"afternoon|下午好"),
                ("good_evening", r"evening|晚上好"))
_THANKS = {
    "en": re.compile(r"\b(thanks?( you)?( (so|very) much)?( a lot)?|thx|cheers|much appreciated)\b[\s,!.]*", _I),
    "zh": re.compile(r"(太感谢了|非常感谢|谢谢你?|谢谢您|多谢|感谢你?|谢啦|谢了)[啊呀！!，,。~\s]*"),
}
_QUESTIONISH = {"en": re.compile(r"\?|^(what|when|where|who|why|how|which|can|could|do|does|is|are|will)\b", _I),
                "zh": re.compile(r"[？?吗]|什么|哪|几|多少|怎么|谁|能不能|可不可以|有没有")}
_REPAIR = {
    "en": re.compile(r"^(sorry,? )?(what|huh|pardon( me)?|sorry|excuse me|eh|come again|what was that)\s*[?!.]*$|"
                     r"\b(say (that|it) again|repeat (that|it|yourself|please|what you said)|can you repeat|"
                     r"didn'?t (catch|hear|get|understand) (that|it|you|what you said)|what did you (just )?say|"
                     r"one more time)\b", _I),
    "zh": re.compile(r"^(什么|啥|啊|嗯|蛤)[？?！!]+$|你说(什么|啥)|再说一(遍|次)|再讲一(遍|次)|没听(清|懂|到)|重复一(下|遍)|"
                     r"刚才说(什么|啥)"),
}
# About the avatar's speech, not a thing's speed: "is visage slow on a laptop?" is a question for the
# knowledge base, and a pace request is remembered for the session (delivery.py).
_SLOWER = {
    "en": re.compile(r"^(please )?((can|could|would) you )?(please )?(speak|talk|go|say it)? ?(a (bit|little) )?(slower|"
                     r"more slowly|slowly)( please)?[\s?!.]*$|\b(speak|talk|say it|said it)(ing)? (a (bit|little) )?(slower|"
                     r"more slowly|slowly)\b|\bslow down\b|\byou('re| are) (speaking|talking|going) (too|so) fast\b|"
                     r"^(too fast|not so fast)\b", _I),
    "zh": re.compile(r"(说|讲)(得)?慢(一)?点|慢(一)?点(说|讲)|(说|讲)得?太快|^太快了|慢慢(说|讲)|放慢|语速慢(一)?点|"
                     r"^慢(一)?点[吧啊呀！!。]*$"),
}
_FASTER = {
    "en": re.compile(r"^(please )?((can|could|would) you )?(please )?(speak|talk|go|say it)? ?(a (bit|little) )?(faster|"
                     r"quicker|more quickly)( please)?[\s?!.]*$|\b(speak|talk)(ing)? (a (bit|little) )?(faster|quicker|more "
                     r"quickly)\b|\byou('re| are) (speaking|talking) (too|so) slow(ly)?\b|\bspeed up\b", _I),
    "zh": re.compile(r"(说|讲)(得)?快(一)?点|(说|讲)快些|语速快(一)?点|(说|讲)得?太慢|快点说"),
}
_LOUDER = {
    "en": re.compile(r"\b(louder|speak up|more loudly|(can'?t|cannot|couldn'?t) hear you|turn (it|the volume|yourself) "
                     r"up)\b", _I),
    "zh": re.compile(r"大声(一)?点|大点声|声音大(一)?点|听不(清|见|到)你|(说|讲)响(一)?点"),
}
_QUIETER = {
    "en": re.compile(r"\b(quieter|more quietly|more softly|too loud|not so loud|lower your voice|turn (it|the volume|"
                     r"yourself) down)\b", _I),
    "zh": re.compile(r"小声(一)?点|小点声|声音小(一)?点|太大声|声音太大|轻(一)?点说"),
}
# The user faults the host itself (not the museum, not a thing): an apology and an honest word on its limits.
_CRITICISM: dict[str, dict[str, re.Pattern]] = {
    "understanding": {
        "en": re.compile(r"\b(that'?s|that is|this is|it'?s) not what i (asked|meant|said)|\byou (don'?t|do not|never) "
                         r"(understand|listen|get it)|\byou('re| are) not listening|\byou (didn'?t|did not) answer|"
                         r"\b(that|this) (doesn'?t|does not|didn'?t|did not) answer\b", _I),
        "zh": re.compile(r"答非所问|(你)?(根本)?听不懂|你(根本)?没(听懂|明白|理解)|不是我问的|没回答我的问题|你(根本)?不懂我"),
    },
    "knowledge": {
        "en": re.compile(r"\byou('re| are) (so |really |completely |totally )?(useless|stupid|dumb|hopeless|no help|"
                         r"not (very )?(helpful|smart|clever)|rubbish|terrible)\b|\byou (don'?t|do not) know "
                         r"(anything|a thing|much)\b|\byou know nothing\b|\byou can'?t do anything\b|"
                         r"\b(what a )?useless (bot|robot|machine|thing|avatar)\b|\b(that|this) (was|is)n'?t (very )?helpful\b",
                         _I),
        "zh": re.compile(r"你(怎么|咋)?(什么|啥)(都|也)(不知道|不懂|不会)|你(好|真|太|很|也太)(笨|蠢|傻|没用)|你(真|太|好)?没用|"
                         r"你(一点|根本)(都|也)?(没用|不行)|(什么|啥)(都|也)(不知道|不会)啊?[？?！!]*$"),
    },
}
_JOKE = {
    "en": re.compile(r"\b(jokes?|make me (laugh|smile)|something funny|funny story|cheer me up)\b", _I),
    "zh": re.compile(r"笑话|段子|逗我笑|逗我开心|说点好玩的|讲点好玩的|说个好玩的|有趣的事"),
}
_ANOTHER = {
    "en": re.compile(r"^(another( one)?|one more|(tell me )?another|more please|again)[\s!.?]*$", _I),
    "zh": re.compile(r"^(再来一个|再讲一个|再来|再说一个|还有吗|再来一段)[吧呀啊！!。？?]*$"),
}
_PRESENT: dict[str, dict[str, re.Pattern]] = {  # the part of the present asked about
    "time": {"en": re.compile(r"\b(what('?s| is) the time|what time is it|what time it is|(the )?(current|local) "
                              r"time|time (is it )?now|got the time)\b", _I),
             "zh": re.compile(r"(现在|目前)?几点(了|钟)(?!开|关|到|前|后)|现在几点|现在是几点|现在的时间|什么时间了|现在时间")},
    "date": {"en": re.compile(r"\b(what('?s| is) (the )?date|today'?s date|what date is it|what day is (it|today)|"
                              r"which day is (it|today)|what('?s| is) today)\b", _I),
             "zh": re.compile(r"今天(是)?(几号|几月几[号日]|星期几|礼拜几|周几|什么日子)|几月几[号日]|现在是几月")},
    "year": {"en": re.compile(r"\b(what|which) year is (it|this)\b", _I),
             "zh": re.compile(r"(今年|现在)是?(哪一?年|几几年|什么年|多少年)")},
    "weather": {"en": re.compile(r"\b(weather|forecast|rain(ing|y)?|snow(ing)?|sunny|temperature outside|how (hot|cold) "
                                 r"is it)\b", _I),
                "zh": re.compile(r"天气|下雨|下雪|气温|多少度|冷不冷|热不热|晴天|刮风")},
    "news": {"en": re.compile(r"\b(news|headlines)\b", _I), "zh": re.compile(r"新闻|头条")},
}
# A request for the avatar to act, and which kind of task: the avatar only talks.
_ASK_TO_ACT = {
    "en": re.compile(r"^(please |can you |could you |would you |will you |can u |pls )*(please )?(help me |help "
                     r"us )?(to )?(?P<verb>[a-z-]+)|\b(i('d| would) like you to|i want you to|i need you to|help me( to)?)"
                     r" (?P<verb2>[a-z-]+)|\b(?P<verb3>buy|order|book|get)\b.{0,30}\bfrom you\b|\bi('d| would) like "
                     r"to (?P<verb4>book|reserve|order)\b", _I),
    "zh": re.compile(r"(帮我|给我|替我|帮忙|帮个忙|你(能|可以|能不能|可不可以|会)(帮我|给我|替我)?|请你?|在你这(里|儿)?)(?P<verb>.{1,4})"),
}
_TASKS: dict[str, dict[str, re.Pattern]] = {
    "book": {"en": re.compile(r"^(book|reserve|schedule)$", _I), "zh": re.compile(r"^(订|预订|预定|预约|定)")},
    "buy": {"en": re.compile(r"^(buy|purchase|order|pay|sell|get)$", _I), "zh": re.compile(r"^(买|购买|点|叫(个|份)?外卖|下单|付)")},
    "call": {"en": re.compile(r"^(call|phone|ring|dial)$", _I), "zh": re.compile(r"^(打(个|一)?电话|打给|叫(个|一辆)?(车|出租)|打车)")},
    "message": {"en": re.compile(r"^(send|text|email|e-mail|message|write|post|tweet)$", _I),
                "zh": re.compile(r"^(发|写(个|封)?(邮件|信|消息)|传)")},
    "remind": {"en": re.compile(r"^(remind|wake|alert|set)$", _I), "zh": re.compile(r"^(提醒|叫醒|设(个|一个)?(闹钟|提醒)|定(个)?闹钟)")},
    "play": {"en": re.compile(r"^(play|sing|stream|put)$", _I), "zh": re.compile(r"^(放|播放|播|唱)")},
}
_OBJECT_OF = {"play": re.compile(r"\b(music|song|songs|video|radio|playlist|something)\b|歌|音乐|视频|广播", _I),
              "remind": re.compile(r"\b(me|us|alarm|timer|reminder)\b|我|闹钟|提醒", _I)}
_WHOLE: dict[Intent, dict[str, re.Pattern]] = {  # intents that take the whole message
    Intent.GOODBYE: {"en": re.compile(r"^((ok|okay|alright|well|right),? )?(bye|goodbye|good ?bye|bye bye|see you( later"
                                      r"| soon)?|see ya|good night|farewell|take care|that'?s all( for (now|today))?|i "
                                      r"(have to|must|gotta) go|i'?m (leaving|off))\b", _I),
                     "zh": re.compile(r"(再见|拜拜|回头见|下次见|晚安|我(先)?走了|先这样|告辞|我要走了)")},
    Intent.HOW_ARE_YOU: {"en": re.compile(r"^(how are you|how're you|how's it going|how do you do|how are things|"
                                          r"how have you been|how are you doing)( doing| today| doing today)?[\s?!.,]*$", _I),
                         "zh": re.compile(r"^(你好吗|你还好吗|最近怎么样|最近好吗|过得怎么样|过得好吗|你(今天|最近)?(怎么样|还好吗|好吗|"
                                          r"过得怎么样|过得好吗))[？?啊呀！!。]*$")},
    Intent.CAPABILITIES: {"en": re.compile(r"\b(what can you do|what do you know|how can you help|what can i ask|"
                                           r"what are you able to|what do you do|can you help( me| us)?)\b|^help\b", _I),
                          "zh": re.compile(r"(你能做什么|你会什么|你会做什么|你可以做什么|你能干什么|你有什么功能|能帮我什么|"
                                           r"你能帮我做什么|我可以问什么|你能帮我吗|能帮帮我吗|能帮我吗)")},
    Intent.WHO_ARE_YOU: {"en": re.compile(r"\b(who are you|what'?s your name|what is your name|introduce yourself|are"
                                          r" you (a |an )?(robot|human|bot|person|real|ai|machine|computer))\b|"
                                          r"^what are you[\s?!.]*$", _I),
                         "zh": re.compile(r"(你是谁|你叫什么|你的名字|你是什么|你是机器人|你是真人|你是人吗|介绍一下你自己|自我介绍)")},
    Intent.MORE: {"en": re.compile(r"^(tell me more|more|go on|continue|keep going|more details?|elaborate|say more|"
                                   r"what else|anything else|and|why|how come|really)[\s?!.]*$", _I),
                  "zh": re.compile(r"^(还有呢|然后呢|还有什么|继续|接着说|多说一点|再说说|详细说说|详细点|具体点|"
                                   r"具体说说|展开说说|再多说一点|为什么|为啥|怎么会)[？?。！!呢吗]*$")},
    Intent.YES: {"en": re.compile(r"^(yes|yeah|yep|sure|yes please|of course|right|correct|exactly)\b[\s,!.]*$", _I),
                 "zh": re.compile(r"^(是|是的|对|对的|对啊|嗯|嗯嗯|要|好啊|当然|没错)[的啊呀吧！!。.，,]*$")},
    Intent.NO: {"en": re.compile(r"^(no|nope|not really|no thanks|no thank you)\b[\s,!.]*$", _I),
                "zh": re.compile(r"^(不|不是|不用|不要|没有|算了|不用了)[的啊呀吧！!。.，,]*$")},
    Intent.ACK: {"en": re.compile(r"^(ok|okay|i see|got it|cool|nice|great|alright|fine|understood)\b[\s,!.]*$", _I),
                 "zh": re.compile(r"^(好的|好|知道了|明白了|懂了|了解|行|可以|收到)[的啊呀吧！!。.，,]*$")},
}
_ABOUT = {
    "en": re.compile(r"^(and |but |so )?(what|how) about (?P<x>.+?)[\s?.!]*$", _I),
    "zh": re.compile(r"^(那|那么|还有)?(?P<x>.{1,12}?)(呢|怎么样|又如何)[？?。]*$"),
}


def read_message(text: str, language: str) -> Message:
    """Read a cleaned message in `language` ("en" or "zh")."""
    lang = "zh" if is_chinese_language(language) else "en"
    greeting = _GREETING[lang].match(text)
    word = next((key for key, p in _TIME_OF_DAY if greeting and re.search(p, greeting.group(), _I)), "")
    rest = text[greeting.end():] if greeting else text
    thanks = _THANKS[lang].search(rest)
    if thanks:
        rest = (rest[:thanks.start()] + " " + rest[thanks.end():]).strip(" ,，")
    rest = rest.strip()

    def message(intent: Intent, rest: str = rest, **more) -> Message:
        return Message(intent, bool(greeting), bool(thanks), rest, greeting_word=word, **more)

    if _HOW_ARE_YOU_FIRST(text, lang):  # 你好吗 is not 你好 + 吗
        return Message(Intent.HOW_ARE_YOU, False, bool(thanks), text)
    for kind, patterns in _CRITICISM.items():  # on the whole text: 你好笨 is not 你好 + 笨
        if patterns[lang].search(text):
            return Message(Intent.CRITICISM, False, bool(thanks), text, detail=kind)
    delivery = delivery_request(rest, lang)
    if _REPAIR[lang].search(rest) and len(rest) <= 60:
        return message(delivery if delivery in (Intent.SLOWER, Intent.LOUDER) else Intent.REPAIR)
    if delivery is not None:
        return message(delivery)
    if _ANOTHER[lang].match(rest):
        return message(Intent.ANOTHER)
    if _JOKE[lang].search(rest):
        return message(Intent.JOKE)
    for part, patterns in _PRESENT.items():
        if patterns[lang].search(rest):
            return message(Intent.PRESENT, detail=part)
    task = cannot_do(rest, lang)
    if task:
        return message(Intent.CANNOT, detail=task)
    for intent, patterns in _WHOLE.items():
        if patterns[lang].search(rest):
            return message(intent)
    about = _ABOUT[lang].match(rest)
    if about:
        return message(Intent.ABOUT, about=about.group("x").strip())
    if not re.search(r"\w", rest) or thanks and not _QUESTIONISH[lang].search(rest):
        # "thanks!", or thanks with praise around it ("cheers, very helpful"): the thanks is the message
        social = Intent.THANKS if thanks else Intent.GREETING if greeting else Intent.QUESTION
        return message(social, "")
    return message(Intent.QUESTION)


_ASKS = re.compile(r"[?？]|吗|呢$|什么|哪|谁|怎么|几|多少|^(what|when|where|who|why|how|which|is|are|can|do|does|could|would|"
                   r"will|should|please|recommend|suggest|tell|show|give|find|explain|describe)\b|推荐|介绍|告诉我|给我|帮我",
                   _I)


def asks_question(text: str) -> bool:
    """Whether a message asks something (a question mark, a question word, a request to tell), in either
    language: a question is answered first, even when the user sounds sad ("我的眼睛不好，怎么办")."""
    return bool(_ASKS.search(text.strip()))


def delivery_request(text: str, language: str) -> Intent | None:
    """SLOWER, FASTER, LOUDER or QUIETER when a short message asks the avatar to change how it speaks
    (FASTER first: "you speak too slowly" asks for faster speech)."""
    lang = "zh" if is_chinese_language(language) else "en"
    if len(text) > 40:
        return None
    for intent, patterns in ((Intent.FASTER, _FASTER), (Intent.SLOWER, _SLOWER), (Intent.LOUDER, _LOUDER),
                             (Intent.QUIETER, _QUIETER)):
        if patterns[lang].search(text):
            return intent
    return None


def _HOW_ARE_YOU_FIRST(text: str, lang: str) -> bool:
    return bool(_WHOLE[Intent.HOW_ARE_YOU][lang].search(text.strip()))


def cannot_do(text: str, language: str) -> str:
    """The kind of task ("book", "buy", "call", "message", "remind", "play") that `text` asks the avatar
    to do, or "" when it asks for none ("can I book a guide?" asks about booking, it is not a request)."""
    lang = "zh" if is_chinese_language(language) else "en"
    for m in _ASK_TO_ACT[lang].finditer(text.strip()):
        verb = next((v for v in m.groupdict().values() if v), "")
        for task, patterns in _TASKS.items():
            if patterns[lang].search(verb):
                if task in _OBJECT_OF and lang == "en" and not _OBJECT_OF[task].search(text[m.end():]):
                    continue  # "set the table", "put it there" are not reminders or music
                return task
    if lang == "zh" and re.search(r"提醒我|叫醒我|定个闹钟|放首歌|放点音乐|放个音乐|播放音乐", text):
        return "remind" if re.search(r"提醒|叫醒|闹钟", text) else "play"
    return ""
