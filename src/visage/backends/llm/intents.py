"""What a message is (greeting, thanks, small talk, follow-up, question...) and the embedded brain's
stock phrases, in English and Chinese.

Why rules: social messages are few and formulaic, rules for them are instant and predictable, and a
person can read and extend the lists below. Anything they do not recognise is a question for the
knowledge base. Each stock phrase carries the emotion it is said with, chosen to match its words (an
apology is sad, a greeting happy), so that voice, face and text agree; tests check that the sentiment
classifier never reads a different emotion in them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from visage.core.types import Emotion
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
    ABOUT = "about"  # and what about X?: X, in the previous topic's context
    YES = "yes"
    NO = "no"
    ACK = "ack"  # ok, I see


@dataclass(frozen=True)
class Message:
    """A message read by the rules: its main intent, the social formulas around it, and what is left."""

    intent: Intent
    greeting: bool = False
    thanks: bool = False
    rest: str = ""  # the message without its greeting or thanks: the question, if any
    about: str = ""  # X in "what about X?"


_I = re.IGNORECASE
_GREETING = {
    "en": re.compile(r"^\s*(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening)|yo)\b"
                     r"(\s+(there|visage|everyone|all|friend))?[\s,!.~]*", _I),
    "zh": re.compile(r"^\s*(你好|您好|嗨|哈喽|哈啰|早上好|早安|上午好|下午好|晚上好|大家好|hi|hello)[啊呀呀！!，,。~\s]*", _I),
}
_THANKS = {
    "en": re.compile(r"\b(thanks?( you)?( (so|very) much)?( a lot)?|thx|cheers|much appreciated)\b[\s,!.]*", _I),
    "zh": re.compile(r"(谢谢你?|谢谢您|多谢|感谢你?|谢啦|谢了)[啊呀！!，,。~\s]*"),
}
_WHOLE: dict[Intent, dict[str, re.Pattern]] = {  # intents that take the whole message
    Intent.GOODBYE: {"en": re.compile(r"^(bye|goodbye|good ?bye|see you( later| soon)?|see ya|good night|farewell|"
                                      r"take care|that's all|i have to go)\b", _I),
                     "zh": re.compile(r"^(再见|拜拜|回头见|下次见|晚安|我走了|先这样)")},
    Intent.HOW_ARE_YOU: {"en": re.compile(r"^(how are you|how're you|how's it going|how do you do|how are things|"
                                          r"how have you been)( doing| today| doing today)?[\s?!.,]*$", _I),
                         "zh": re.compile(r"^(你好吗|你还好吗|最近怎么样|最近好吗|过得怎么样|过得好吗)[？?啊呀！!。]*$")},
    Intent.CAPABILITIES: {"en": re.compile(r"\b(what can you do|what do you know|how can you help|what can i ask|"
                                           r"what are you able to|what do you do)\b|^help\b", _I),
                          "zh": re.compile(r"(你能做什么|你会什么|你可以做什么|你能干什么|你有什么功能|能帮我什么|"
                                           r"你能帮我做什么|我可以问什么)")},
    Intent.WHO_ARE_YOU: {"en": re.compile(r"\b(who are you|what'?s your name|what is your name|introduce yourself|are"
                                          r" you (a |an )?(robot|human|bot|person|real|ai))\b|^what are you[\s?!.]*$", _I),
                         "zh": re.compile(r"(你是谁|你叫什么|你的名字|你是什么|你是机器人|你是真人|介绍一下你自己|自我介绍)")},
    Intent.MORE: {"en": re.compile(r"^(tell me more|more|go on|continue|keep going|more details?|elaborate|say more|"
                                   r"what else|anything else|and|why|how come|really)[\s?!.]*$", _I),
                  "zh": re.compile(r"^(还有呢|然后呢|还有吗|还有什么|继续|接着说|多说一点|再说说|详细说说|详细点|具体点|"
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
    rest = text[greeting.end():] if greeting else text
    thanks = _THANKS[lang].search(rest)
    if thanks:
        rest = (rest[:thanks.start()] + " " + rest[thanks.end():]).strip(" ,，")
    rest = rest.strip()
    for intent, patterns in _WHOLE.items():
        if patterns[lang].search(rest):
            return Message(intent, bool(greeting), bool(thanks), rest)
        if intent == Intent.HOW_ARE_YOU and patterns[lang].search(text):  # 你好吗 is not 你好 + 吗
            return Message(intent, False, bool(thanks), text)
    about = _ABOUT[lang].match(rest)
    if about:
        return Message(Intent.ABOUT, bool(greeting), bool(thanks), rest, about.group("x").strip())
    if not re.search(r"\w", rest):
        social = Intent.THANKS if thanks else Intent.GREETING if greeting else Intent.QUESTION
        return Message(social, bool(greeting), bool(thanks), "")
    return Message(Intent.QUESTION, bool(greeting), bool(thanks), rest)


E = Emotion
# key -> (emotion, intensity, {language: variants}); a variant may hold several sentences.
PHRASES: dict[str, tuple[Emotion, float, dict[str, tuple[str, ...]]]] = {
    "hello": (E.HAPPY, 0.6, {"en": ("Hello!", "Hi there!"), "zh": ("你好！", "您好！")}),
    "introduce": (E.HAPPY, 0.5, {"en": ("I'm {name}, nice to meet you.",), "zh": ("我是{name}，很高兴认识你。",)}),
    "how_can_i_help": (E.HAPPY, 0.4, {"en": ("How can I help you today?", "What would you like to know?"),
                                       "zh": ("今天有什么可以帮你的吗？", "你想了解些什么呢？")}),
    "welcome": (E.HAPPY, 0.6, {"en": ("You're welcome!", "My pleasure!"), "zh": ("不客气！", "很高兴能帮到你！")}),
    "anything_else": (E.NEUTRAL, 0.5, {"en": ("Is there anything else you would like to know?",),
                                       "zh": ("还有什么想了解的吗？",)}),
    "goodbye": (E.HAPPY, 0.5, {"en": ("Goodbye, it was nice talking with you!", "Bye, have a lovely day!"),
                               "zh": ("再见，很高兴和你聊天！", "拜拜，祝你今天愉快！")}),
    "doing_well": (E.HAPPY, 0.6, {"en": ("I'm doing well, thank you for asking!",), "zh": ("我很好，谢谢关心！",)}),
    "and_you": (E.NEUTRAL, 0.5, {"en": ("How are you today?",), "zh": ("你今天过得怎么样？",)}),
    "who_i_am": (E.HAPPY, 0.5, {"en": ("I'm {name}, a talking avatar that runs right here on this computer.",),
                                "zh": ("我是{name}，一个就在这台电脑上运行的数字人。",)}),
    "what_i_do": (E.NEUTRAL, 0.5, {"en": ("I answer questions from my knowledge base, and I can also be connected "
                                          "to a large language model.",),
                                   "zh": ("我根据知识库回答问题，也可以接入大语言模型。",)}),
    "i_can_tell": (E.NEUTRAL, 0.5, {"en": ("I can tell you about {topics}.",), "zh": ("我可以给你介绍{topics}。",)}),
    "you_can_ask": (E.NEUTRAL, 0.5, {"en": ("You can ask me, for example, {topics}",), "zh": ("你可以问我，比如{topics}",)}),
    "sorry_complaint": (E.SAD, 0.5, {"en": ("I'm sorry about that.", "I'm really sorry to hear that."),
                                     "zh": ("真抱歉。", "非常抱歉给你带来麻烦。")}),
    "understand": (E.SAD, 0.4, {"en": ("I can see why that would upset you.",),
                                "zh": ("我能理解这有多让人难受。",)}),
    "sorry_sad": (E.SAD, 0.5, {"en": ("I'm sorry to hear that.",), "zh": ("听到这个我很难过。",)}),
    "reassure": (E.NEUTRAL, 0.4, {"en": ("Don't worry, we'll work it out together.",),
                                  "zh": ("别担心，我们一起想办法。",)}),
    "glad": (E.HAPPY, 0.7, {"en": ("That's wonderful to hear!",), "zh": ("听到这个真开心！",)}),
    "offer_help": (E.NEUTRAL, 0.5, {"en": ("Could you tell me what went wrong, so that I can help?",),
                                    "zh": ("能告诉我哪里出了问题吗？我会尽力帮你。",)}),
    "talk_about_it": (E.NEUTRAL, 0.4, {"en": ("Would you like to tell me more about it?",),
                                       "zh": ("愿意和我多说说吗？",)}),
    "dont_know": (E.SAD, 0.3, {"en": ("I'm sorry, I don't know that yet.", "Sorry, I don't know that one yet."),
                               "zh": ("抱歉，这个我还不知道。", "不好意思，这个问题我暂时回答不了。")}),
    "not_sure": (E.NEUTRAL, 0.4, {"en": ("I'm not sure I understood.",), "zh": ("我不太确定是不是理解对了。",)}),
    "do_you_mean": (E.NEUTRAL, 0.5, {"en": ("Do you mean “{topic}”?",), "zh": ("你是想问“{topic}”吗？",)}),
    "all_i_know": (E.NEUTRAL, 0.4, {"en": ("That's all I know about “{topic}”.",), "zh": ("关于“{topic}”，我知道的就这些了。",)}),
    "want_related": (E.NEUTRAL, 0.5, {"en": ("Would you like to hear about “{topic}”?",),
                                      "zh": ("要不要听听“{topic}”？",)}),
    "no_topic": (E.NEUTRAL, 0.4, {"en": ("What would you like to know more about?",),
                                  "zh": ("你想多了解哪方面呢？",)}),
    "ask_again": (E.NEUTRAL, 0.4, {"en": ("All right. Could you ask it in other words?",),
                                   "zh": ("好的，能换个说法再问一次吗？",)}),
    "not_heard": (E.SAD, 0.3, {"en": ("Sorry, I didn't catch that. Could you say it again?",),
                               "zh": ("不好意思，我没听清楚，能再说一遍吗？",)}),
}
SUGGESTION = re.compile(r"“([^”]+)”")  # the topic a "do you mean" or "would you like" question offered


def phrase(key: str, language: str, turn: int = 0, **fields: str) -> tuple[str, Emotion, float]:
    """A stock phrase in `language`, varied by turn so that the avatar does not repeat itself."""
    emotion, intensity, variants = PHRASES[key]
    options = variants["zh" if is_chinese_language(language) else "en"]
    return options[turn % len(options)].format(**fields), emotion, intensity
