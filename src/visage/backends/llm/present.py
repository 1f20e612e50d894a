"""Questions about the present: the avatar can tell the local time, day and date from this computer's
clock, and says plainly that it cannot see the weather or the news (it works offline).

Why the clock is injectable: tests pass a fixed time, so that "what day is it?" has a known answer.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
_ZH_DAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
Clock = Callable[[], datetime]


def local_now() -> datetime:
    return datetime.now().astimezone()


def time_text(now: datetime, language: str) -> str:
    """"14:05" in English (with "in the afternoon" cues left to the voice), "下午2点05分" in Chinese."""
    if language == "zh":
        part = ("凌晨" if now.hour < 6 else "上午" if now.hour < 12 else "中午" if now.hour < 13 else
                "下午" if now.hour < 18 else "晚上")
        hour = now.hour if now.hour <= 12 else now.hour - 12
        return f"{part}{hour}点{now.minute:02d}分（{now:%H:%M}）"
    return f"{now:%H:%M}"


def date_text(now: datetime, language: str) -> str:
    if language == "zh":
        return f"{now.year}年{now.month}月{now.day}日，{_ZH_DAYS[now.weekday()]}"
    return f"{_EN_DAYS[now.weekday()]}, {now.day} {_EN_MONTHS[now.month - 1]} {now.year}"


def answer(part: str, now: datetime, language: str) -> list[tuple[str, dict[str, str]]]:
    """The stock phrases (keys of phrases.py, with their fields) that answer a question about `part` of
    the present: "time", "date", "year", "weather" or "news"."""
    if part == "time":
        return [("time_now", {"time": time_text(now, language)})]
    if part == "date":
        return [("date_now", {"date": date_text(now, language)})]
    if part == "year":
        return [("year_now", {"year": str(now.year)})]
    return [("no_weather" if part == "weather" else "no_news", {}), ("present_can", {})]
