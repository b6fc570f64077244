import pytest

NAMES = {"wmA": "王姐", "wmB": "小李", "wmC": "小美", "wmD": "张三", "wmE": "陈阿姨", "wmF": "老周"}


@pytest.fixture
async def listening(service):
    service.fake.add_group("wrGroupA", "xiaowang", list(NAMES), name="梅溪湖1群")
    await service.store.kf.remember_names(NAMES, 86400)
    return service
