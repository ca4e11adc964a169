"""Examples to send for review: expected output with nested fields, an input file, an expected file."""

from django.contrib.auth.models import Group, User

from datasets.models import Example, ExampleFolder
from datasets.services import example_create, example_file_store

EXPECTED = {"vendor": {"name": "ACME", "iban": "DE89 3704"}, "total": 120.5,
            "lines": [{"description": "Paper", "amount": 45.0}]}


def make_examples(automation, count: int = 3, *, files: bool = True) -> list[Example]:
    examples = []
    for n in range(count):
        example = example_create(automation=automation, name=f"ex-{n}", input={"customer": f"c-{n}"},
                                 expected={**EXPECTED, "total": 100 + n})
        if files:
            example_file_store(example=example, folder=ExampleFolder.INPUT, path="invoice.pdf",
                               content=b"%PDF-1.4 invoice " + str(n).encode(), content_type="application/pdf")
            example_file_store(example=example, folder=ExampleFolder.EXPECTED, path="result.csv",
                               content=b"a,b\n1,2\n", content_type="text/csv")
        examples.append(example)
    return examples


def make_lead(username: str = "lee") -> User:
    user = User.objects.create_user(username, email=f"{username}@example.com", password="pw")
    user.groups.add(Group.objects.get_or_create(name="lead")[0])
    return user
