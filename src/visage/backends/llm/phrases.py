"""The embedded brain's stock phrases, in English and Chinese, each with the emotion it is said with.

Why each phrase carries its emotion: voice, face and text must agree, so an apology is sad, a greeting
happy, a fact or an offer neutral (tests check that the sentiment classifier never reads a different
emotion in them). Why several variants: a host who says "I don't know that yet" three times in a row
sounds broken; `phrase()` picks a variant the previous reply did not use.
"""
from __future__ import annotations

import re

from visage.core.text import is_chinese_language
from visage.core.types import Emotion

E = Emotion
# key -> (emotion, intensity, {language: variants}); a variant may hold several sentences.
PHRASES: dict[str, tuple[Emotion, float, dict[str, tuple[str, ...]]]] = {
    "hello": (E.HAPPY, 0.6, {"en": ("Hello!", "Hi there!"), "zh": ("你好！", "您好！")}),
    "good_morning": (E.HAPPY, 0.6, {"en": ("Good morning!",), "zh": ("早上好！",)}),
    "good_afternoon": (E.HAPPY, 0.6, {"en": ("Good afternoon!",), "zh": ("下午好！",)}),
    "good_evening": (E.HAPPY, 0.6, {"en": ("Good evening!",), "zh": ("晚上好！",)}),
    "introduce": (E.HAPPY, 0.5, {"en": ("I'm {name}, nice to meet you.",), "zh": ("我是{name}，很高兴认识你。",)}),
    "how_can_i_help": (E.HAPPY, 0.4, {"en": ("How can I help you today?", "What would you like to know?"),
                                       "zh": ("今天有什么可以帮你的吗？", "你想了解些什么呢？")}),
    "welcome": (E.HAPPY, 0.6, {"en": ("You're welcome!", "My pleasure!"), "zh": ("不客气！", "很高兴能帮到你！")}),
    "welcome_name": (E.HAPPY, 0.6, {"en": ("You're welcome, {user}!", "My pleasure, {user}!"),
                                    "zh": ("不客气，{user}！", "很高兴能帮到你，{user}！")}),
    "anything_else": (E.NEUTRAL, 0.5, {"en": ("Is there anything else you would like to know?",
                                              "Anything else I can help with?"),
                                       "zh": ("还有什么想了解的吗？", "还有别的需要帮忙的吗？")}),
    "goodbye": (E.HAPPY, 0.5, {"en": ("Goodbye, it was nice talking with you!", "Bye, have a lovely day!"),
                               "zh": ("再见，很高兴和你聊天！", "拜拜，祝你今天愉快！")}),
    "goodbye_name": (E.HAPPY, 0.5, {"en": ("Goodbye, {user}, it was nice talking with you!",
                                           "Bye, {user}, have a lovely day!"),
                                    "zh": ("再见，{user}，很高兴和你聊天！", "拜拜，{user}，祝你今天愉快！")}),
    "doing_well": (E.HAPPY, 0.6, {"en": ("I'm doing well, thank you for asking!",), "zh": ("我很好，谢谢关心！",)}),
    "and_you": (E.NEUTRAL, 0.5, {"en": ("How are you today?",), "zh": ("你今天过得怎么样？",)}),
    "who_i_am": (E.HAPPY, 0.5, {"en": ("I'm {name}, a talking avatar that runs right here on this computer.",),
                                "zh": ("我是{name}，一个就在这台电脑上运行的数字人。",)}),
    "what_i_do": (E.NEUTRAL, 0.5, {"en": ("I answer questions from my knowledge base, and I can also be connected "
                                          "to a large language model.",),
                                   "zh": ("我根据知识库回答问题，也可以接入大语言模型。",)}),
    "i_can_tell": (E.NEUTRAL, 0.5, {"en": ("I can tell you about {topics}.", "I know about {topics}, for example."),
                                    "zh": ("我可以给你介绍{topics}。", "比如{topics}，这些我都可以告诉你。")}),
    "you_can_ask": (E.NEUTRAL, 0.5, {"en": ("You can ask me, for example, {topics}", "Try asking me {topics}"),
                                     "zh": ("你可以问我，比如{topics}", "你可以试着问我{topics}")}),
    "sorry_complaint": (E.SAD, 0.5, {"en": ("I'm sorry about that.", "I'm really sorry to hear that."),
                                     "zh": ("真抱歉。", "非常抱歉给你带来麻烦。")}),
    "understand": (E.SAD, 0.4, {"en": ("I can see why that would upset you.", "I understand, that is no fun at all."),
                                "zh": ("我能理解这有多让人难受。", "我理解，遇到这种事确实不好受。")}),
    "sorry_sad": (E.SAD, 0.5, {"en": ("I'm sorry to hear that.", "Oh, I'm sorry."),
                               "zh": ("听到这个我很难过。", "真让人难过。")}),
    "reassure": (E.NEUTRAL, 0.4, {"en": ("Don't worry, we'll work it out together.",),
                                  "zh": ("别担心，我们一起想办法。",)}),
    "glad": (E.HAPPY, 0.7, {"en": ("That's wonderful to hear!", "How lovely!"), "zh": ("听到这个真开心！", "太好了！")}),
    "sorry_limits": (E.SAD, 0.4, {"en": ("I'm sorry I couldn't help you better. I only know what is in my knowledge "
                                         "base, and I would rather say so than guess.",
                                         "Sorry about that. My knowledge is limited to what I was given here, so I "
                                         "can't answer everything."),
                                  "zh": ("抱歉，没能帮上你。我只知道知识库里的内容，不知道的我会直说，不会乱猜。",
                                         "不好意思，我知道的只有这里给我的知识，没法什么都回答。")}),
    "sorry_misunderstood": (E.SAD, 0.4, {"en": ("I'm sorry, I misunderstood you. Could you ask it in other words?",),
                                         "zh": ("对不起，我理解错了。能换个说法再问一次吗？",)}),
    "sorry_problem": (E.SAD, 0.4, {"en": ("Oh no, I'm sorry. I can't fix that from here, but the staff at the front "
                                          "desk may be able to help.",),
                                   "zh": ("哎呀，真抱歉。这个我在这里帮不了你，不过前台的工作人员也许能帮上忙。",)}),
    "offer_help": (E.NEUTRAL, 0.5, {"en": ("Could you tell me what went wrong, so that I can help?",
                                           "Tell me what happened, and I'll see what I can do."),
                                    "zh": ("能告诉我哪里出了问题吗？我会尽力帮你。", "跟我说说发生了什么，我看看能帮上什么。")}),
    "talk_about_it": (E.NEUTRAL, 0.4, {"en": ("Would you like to tell me more about it?",
                                              "I'm here if you want to talk about it."),
                                       "zh": ("愿意和我多说说吗？", "想聊聊的话，我在这里听着。")}),
    "dont_know": (E.SAD, 0.3, {"en": ("I'm sorry, I don't know that.", "Sorry, I don't know that one.",
                                      "I really don't know that one, sorry."),
                               "zh": ("抱歉，这个我不知道。", "不好意思，这个问题我回答不了。", "这个我恐怕不知道。")}),
    "ask_staff": (E.NEUTRAL, 0.4, {"en": ("A member of staff will surely know.", "The staff here can help you with that."),
                                   "zh": ("工作人员一定知道。", "这个可以问问这里的工作人员。")}),
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
    "statement_ack": (E.NEUTRAL, 0.4, {"en": ("I see.", "All right."), "zh": ("明白了。", "嗯，我知道了。")}),
    # repair
    "repeat_intro": (E.NEUTRAL, 0.4, {"en": ("Of course, I said:", "Sure, once more:"),
                                      "zh": ("好的，我刚才说：", "好的，再说一遍：")}),
    "slower_intro": (E.NEUTRAL, 0.3, {"en": ("Of course, more slowly.",), "zh": ("好的，我说慢一点。",)}),
    "louder_intro": (E.NEUTRAL, 0.4, {"en": ("Of course, a little louder.",), "zh": ("好的，我大声一点。",)}),
    "faster_ack": (E.NEUTRAL, 0.5, {"en": ("Sure, I'll speak a little faster from now on.",),
                                    "zh": ("好的，我接下来说快一点。",)}),
    "louder_ack": (E.NEUTRAL, 0.5, {"en": ("Of course, I'll speak louder from now on.",), "zh": ("好的，我接下来大声一点。",)}),
    "quieter_ack": (E.NEUTRAL, 0.4, {"en": ("Of course, I'll speak more softly.",), "zh": ("好的，我小声一点。",)}),
    "nothing_to_repeat": (E.NEUTRAL, 0.4, {"en": ("I haven't said anything yet that I could repeat. What would "
                                                  "you like to know?",),
                                           "zh": ("我还没说过可以重复的话。你想了解哪方面？",)}),
    # requests it cannot do
    "cannot_book": (E.SAD, 0.3, {"en": ("Sorry, I can't book or reserve anything for you.",),
                                 "zh": ("抱歉，我没办法帮你预订任何东西。",)}),
    "cannot_buy": (E.SAD, 0.3, {"en": ("Sorry, I can't sell or order anything for you.",),
                                "zh": ("抱歉，我不能帮你买东西或者下单。",)}),
    "cannot_call": (E.SAD, 0.3, {"en": ("Sorry, I can't make phone calls.",), "zh": ("抱歉，我没办法打电话。",)}),
    "cannot_message": (E.SAD, 0.3, {"en": ("Sorry, I can't send messages or emails.",),
                                    "zh": ("抱歉，我没办法帮你发消息或者邮件。",)}),
    "cannot_remind": (E.SAD, 0.3, {"en": ("Sorry, I can't set reminders or alarms.",),
                                   "zh": ("抱歉，我没办法设提醒或者闹钟。",)}),
    "cannot_play": (E.SAD, 0.3, {"en": ("Sorry, I can't play music or videos.",), "zh": ("抱歉，我不能放音乐或者视频。",)}),
    "cannot_other": (E.SAD, 0.3, {"en": ("Sorry, I can't do that from here.",), "zh": ("抱歉，这个我做不到。",)}),
    "can_do_here": (E.HAPPY, 0.3, {
        "en": ("What I can do is answer questions from my knowledge base, tell you the time, or tell you a joke.",
               "I can only talk: answer questions from my knowledge base, tell you the time and date, or a joke."),
        "zh": ("我能做的是回答知识库里的问题、告诉你时间，或者讲个笑话。", "我只能和你聊天：回答知识库里的问题，报时间日期，或者讲个笑话。")}),
    "but_i_know": (E.NEUTRAL, 0.5, {"en": ("But here is what I know:",), "zh": ("不过我知道这些：",)}),
    # the present
    "time_now": (E.NEUTRAL, 0.5, {"en": ("It's {time} by this computer's clock.",), "zh": ("按这台电脑的时钟，现在是{time}。",)}),
    "date_now": (E.NEUTRAL, 0.5, {"en": ("Today is {date}.",), "zh": ("今天是{date}。",)}),
    "year_now": (E.NEUTRAL, 0.5, {"en": ("It's {year}.",), "zh": ("今年是{year}年。",)}),
    "no_weather": (E.NEUTRAL, 0.4, {"en": ("I can't see outside and I have no weather service here, so I can't "
                                           "tell you the weather.",),
                                    "zh": ("我看不到外面，这里也没有天气服务，所以没办法告诉你天气。",)}),
    "no_news": (E.NEUTRAL, 0.4, {"en": ("I have no internet connection here, so I can't tell you the news.",),
                                 "zh": ("我这里不联网，所以没办法告诉你新闻。",)}),
    "present_can": (E.NEUTRAL, 0.4, {"en": ("I can tell you the time and the date, though.",),
                                     "zh": ("不过我可以告诉你时间和日期。",)}),
    # jokes
    "no_more_jokes": (E.HAPPY, 0.4, {"en": ("That's all the jokes I know for now.",),
                                       "zh": ("我会的笑话都讲完了。",)}),
    # what the user told about themselves
    "nice_to_meet": (E.HAPPY, 0.6, {"en": ("Nice to meet you, {user}!",), "zh": ("很高兴认识你，{user}！",)}),
    "name_changed": (E.SAD, 0.3, {"en": ("Sorry, {user}! I'll call you {user} from now on.",),
                                      "zh": ("不好意思，{user}！以后我就叫你{user}。",)}),
    "noted_home": (E.NEUTRAL, 0.5, {"en": ("I'll remember that you live in {place}.",),
                                    "zh": ("我记住了，你住在{place}。",)}),
    "noted_origin": (E.NEUTRAL, 0.5, {"en": ("I'll remember that you're from {place}.",),
                                      "zh": ("我记住了，你来自{place}。",)}),
    "noted_like": (E.HAPPY, 0.5, {"en": ("Lovely, I'll remember that you {verb} {thing}.",),
                                  "zh": ("真好，我记住了，你{verb}{thing}。",)}),
    "your_name": (E.NEUTRAL, 0.5, {"en": ("Your name is {user}.", "You told me your name is {user}."),
                                   "zh": ("你叫{user}。", "你告诉过我，你叫{user}。")}),
    "your_home": (E.NEUTRAL, 0.5, {"en": ("You told me you live in {place}.",), "zh": ("你说过你住在{place}。",)}),
    "your_origin": (E.NEUTRAL, 0.5, {"en": ("You told me you're from {place}.",), "zh": ("你说过你来自{place}。",)}),
    "your_likes": (E.NEUTRAL, 0.5, {"en": ("You told me you {likes}.",), "zh": ("你说过你{likes}。",)}),
    "unknown_name": (E.NEUTRAL, 0.4, {"en": ("You haven't told me your name yet. What should I call you?",),
                                      "zh": ("你还没告诉我你的名字呢。我该怎么称呼你？",)}),
    "unknown_home": (E.NEUTRAL, 0.4, {"en": ("You haven't told me where you live yet.",),
                                      "zh": ("你还没告诉我你住在哪里呢。",)}),
    "unknown_origin": (E.NEUTRAL, 0.4, {"en": ("You haven't told me where you're from yet.",),
                                        "zh": ("你还没告诉我你是哪里人呢。",)}),
    "unknown_likes": (E.HAPPY, 0.3, {"en": ("You haven't told me what you like yet.",),
                                       "zh": ("你还没跟我说过你的爱好呢。",)}),
    "unknown_me": (E.NEUTRAL, 0.4, {"en": ("I don't know anything about you yet. Tell me your name, if you like!",),
                                    "zh": ("我还不了解你呢。愿意的话，告诉我你的名字吧！",)}),
    # feelings the user states
    "feel_happy_ask": (E.HAPPY, 0.5, {"en": ("What made your day so good?",), "zh": ("是什么让你这么开心？",)}),
    "feel_fearful": (E.NEUTRAL, 0.4, {"en": ("Don't worry, there's no rush. Take your time, and ask me anything you need.",),
                                      "zh": ("别担心，不用急。有什么需要，随时问我。",)}),
    "feel_tired": (E.SAD, 0.3, {"en": ("That sounds tiring. Take a break whenever you need one.",),
                                    "zh": ("辛苦了，累了就休息一下吧。",)}),
    "feel_bored": (E.HAPPY, 0.5, {"en": ("Shall I tell you a joke? Or ask me anything from my knowledge base.",),
                                    "zh": ("要不要我给你讲个笑话？或者问问我知识库里的事。",)}),
    "feel_stressed": (E.SAD, 0.3, {"en": ("That sounds like a lot to carry. Take a slow breath, there's no hurry here.",),
                                   "zh": ("听起来你最近真的很辛苦。先深呼吸，放松一下，在这里不用着急。",)}),
    "here_for_you": (E.HAPPY, 0.3, {"en": ("I'm here with you, and happy to talk.",), "zh": ("我在这里陪着你，想聊什么都可以。",)}),
    # small talk
    "age": (E.NEUTRAL, 0.5, {"en": ("I don't have an age like a person does. I'm a fairly new program.",),
                             "zh": ("我没有人那样的年龄，我是一个挺新的程序。",)}),
    "favourite": (E.NEUTRAL, 0.5, {"en": ("I can't pick one {thing} over the others. What about you?",),
                                   "zh": ("{thing}的话，我还真说不上来哪个第一。你呢？",)}),
    "like_job": (E.HAPPY, 0.6, {"en": ("I do! I enjoy talking with people.",), "zh": ("喜欢！和大家聊天我很开心。",)}),
    "have_feelings": (E.NEUTRAL, 0.5, {"en": ("I show emotions in my voice and face, but I don't feel them the way "
                                              "you do.",),
                                       "zh": ("我能用声音和表情表达情绪，但我不像人一样真正有感受。",)}),
    "where_i_live": (E.NEUTRAL, 0.5, {"en": ("I live right here, on this computer.",), "zh": ("我就住在这台电脑里。",)}),
    "my_family": (E.NEUTRAL, 0.5, {"en": ("I'm an avatar, so I have no family, but I meet lots of people.",),
                                   "zh": ("我是数字人，没有家人，不过我能认识很多人。",)}),
    "body_needs": (E.HAPPY, 0.4, {"en": ("I don't need to eat or sleep: I'm an avatar on this computer, always here "
                                         "when you need me.",),
                                  "zh": ("谢谢关心！我是数字人，不用吃饭也不用睡觉，一直在这里。",)}),
    "what_doing": (E.HAPPY, 0.5, {"en": ("Talking with you!",), "zh": ("在和你聊天呀！",)}),
    "thanks_praise": (E.HAPPY, 0.6, {"en": ("Thank you, that's kind of you!",), "zh": ("谢谢夸奖！",)}),
    "nice_to_meet_too": (E.HAPPY, 0.6, {"en": ("Nice to meet you too!",), "zh": ("我也很高兴认识你！",)}),
    "whats_up": (E.NEUTRAL, 0.5, {"en": ("Not much, I'm here to help. What's on your mind?",),
                                  "zh": ("我在这儿随时可以帮你，想聊点别的也可以。",)}),
    "love_you": (E.HAPPY, 0.5, {"en": ("That's sweet of you! I enjoy our chat too.",), "zh": ("谢谢你，我也很喜欢和你聊天！",)}),
    "sorry_user": (E.NEUTRAL, 0.4, {"en": ("No problem at all.",), "zh": ("没关系。",)}),
}
SUGGESTION = re.compile(r"“([^”]+)”")  # the topic a "do you mean" or "would you like" question offered


def phrase(key: str, language: str, turn: int = 0, avoid: str = "", **fields: str) -> tuple[str, Emotion, float]:
    """A stock phrase in `language`, varied by turn, and never a variant that `avoid` (the previous
    reply) contains while another one is left, so that the avatar does not repeat itself."""
    emotion, intensity, variants = PHRASES[key]
    options = variants["zh" if is_chinese_language(language) else "en"]
    ordered = [options[(turn + i) % len(options)].format(**fields) for i in range(len(options))]
    fresh = [text for text in ordered if text not in avoid]
    return (fresh or ordered)[0], emotion, intensity


def variants_of(key: str) -> tuple[str, ...]:
    """Every variant of a phrase, in both languages, unformatted: to recognise the brain's own words."""
    return tuple(v for options in PHRASES[key][2].values() for v in options)
