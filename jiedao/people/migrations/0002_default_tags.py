from django.db import migrations

# The tags the seed article's communities keep (the list stays configurable in the admin site).
TAGS = [
    ("elderly_65", "65岁以上老人", 65, True),
    ("empty_nest", "空巢老人", None, True),
    ("solitary", "孤寡老人", None, True),
    ("living_alone", "独居老人", None, True),
    ("dibao", "低保", None, True),
    ("disabled", "残疾人", None, True),
    ("veteran", "退役军人", None, False),
    ("party_member", "党员", None, False),
    ("volunteer", "志愿者", None, False),
    ("left_behind_child", "留守儿童", None, True),
    ("serious_illness", "大病重病", None, True),
]


def add_tags(apps, schema_editor):
    Tag = apps.get_model("people", "Tag")
    for order, (code, name, min_age, care) in enumerate(TAGS, start=1):
        Tag.objects.get_or_create(
            code=code, defaults={"name": name, "min_age": min_age, "care": care, "sort_order": order * 10}
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(add_tags, migrations.RunPython.noop)]
