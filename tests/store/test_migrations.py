"""The schema is created and migrated at start, and an upgrade keeps the data."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from bot.store import create_store, migrate
from bot.store.engine import database_url_for, make_engine
from bot.store.folding import normalize_question
from bot.store.schema import events, feedback, meta, metadata, questions, recommendations

NOW = datetime.now(UTC)


def question_row(text: str, entry_id: str | None = None) -> dict[str, Any]:
    """A stored question as revision 0001 wrote it."""
    return {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "text": text,
        "entry_id": entry_id,
        "score": 0.5,
        "closest": [],
        "asked_at": NOW,
    }


def test_a_new_database_is_created_at_the_newest_revision(
    database_url: str, tmp_path: Path
) -> None:
    assert migrate.current_revision(make_engine(database_url_for(database_url, tmp_path))) is None
    store = create_store(database_url, tmp_path)
    assert migrate.current_revision(store.engine) == migrate.head_revision()


def test_the_migrations_build_exactly_the_declared_schema(
    database_url: str, tmp_path: Path
) -> None:
    store = create_store(database_url, tmp_path)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_upgrading_a_revision_1_database_keeps_its_data(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url_for(database_url, tmp_path))
    migrate.upgrade(engine, "0001")
    assert migrate.current_revision(engine) == "0001"
    with engine.begin() as connection:  # rows as revision 0001 wrote them
        connection.execute(insert(events).values(event_id="Ev1", team_id="T1", claimed_at=NOW))
        connection.execute(insert(meta).values(key="knowledge_stamp", value="v1", updated_at=NOW))
        connection.execute(
            insert(questions),
            [
                question_row(text, entry)
                for text, entry in [("Is it FAST?", None), ("is it fast", None), ("orm?", "orm")]
            ],
        )
        connection.execute(
            insert(recommendations).values(
                team_id="T1",
                user_id="U1",
                framework_id="flask",
                verdict="close",
                recommended_at=NOW,
            )
        )
        connection.execute(
            insert(feedback).values(
                team_id="T1",
                user_id="U1",
                message_key="C1:1",
                target_kind="entry",
                target_id="orm",
                question="orm?",
                helpful=True,
                voted_at=NOW,
            )
        )
    engine.dispose()

    store = create_store(database_url, tmp_path)

    assert migrate.current_revision(store.engine) == migrate.head_revision() != "0001"
    stats = store.stats("T1", NOW - timedelta(days=1))
    assert (stats.questions, stats.answered, stats.recommendation_count) == (3, 1, 1)
    assert [(q.text, q.count) for q in stats.unanswered] == [("is it fast", 2)]  # backfilled
    assert stats.helpful[0].helpful == 1
    assert store.get_knowledge_stamp() == "v1"
    assert store.claim_event("Ev1") is False


def test_upgrading_past_0008_keeps_recommendations_and_stores_their_uids(
    database_url: str, tmp_path: Path
) -> None:
    """Recommendations stored before 0008 keep a NULL uid; new ones carry the id their
    message's metadata names, and a vote on one names it too."""
    engine = make_engine(database_url_for(database_url, tmp_path))
    migrate.upgrade(engine, "0007")
    with engine.begin() as connection:  # columns as revision 0007 had them
        connection.execute(
            insert(recommendations).values(
                team_id="T1",
                user_id="U1",
                framework_id="flask",
                verdict="close",
                recommended_at=NOW,
            )
        )
    engine.dispose()

    store = create_store(database_url, tmp_path)
    store.record_recommendation(
        team_id="T1", user_id="U1", framework_id="django", verdict="clear", uid="r" * 32
    )
    store.record_vote(
        team_id="T1",
        user_id="U1",
        message_key="C1:1",
        target_kind="recommendation",
        target_id="django",
        question=None,
        helpful=True,
        recommendation_uid="r" * 32,
    )
    assert store.flush()

    assert migrate.current_revision(store.engine) == migrate.head_revision()
    with store.engine.connect() as connection:
        stored = connection.execute(
            select(recommendations.c.framework_id, recommendations.c.uid).order_by(
                recommendations.c.id
            )
        ).all()
        voted = connection.execute(select(feedback.c.recommendation_uid)).scalars().all()
    assert [tuple(row) for row in stored] == [("flask", None), ("django", "r" * 32)]
    assert voted == ["r" * 32]


def test_instances_starting_together_migrate_once(database_url: str, tmp_path: Path) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def start_instance() -> None:
        start.wait()
        try:
            create_store(database_url, tmp_path).engine.dispose()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start_instance) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    store = create_store(database_url, tmp_path)
    assert migrate.current_revision(store.engine) == migrate.head_revision()


MIGRATIONS = Path(migrate.MIGRATIONS_DIR) / "versions"


def test_no_migration_imports_the_apps_code_or_builds_tables_with_a_library() -> None:
    """Each revision carries its tables and its data changes as they were when it was made:
    code it borrowed (the matcher, slack_sdk's table builders) could change under it."""
    for revision in sorted(MIGRATIONS.glob("0*.py")):
        imports = [
            line.split()[1]
            for line in revision.read_text(encoding="utf-8").splitlines()
            if line.startswith(("import ", "from "))
        ]
        borrowed = [name for name in imports if name.split(".")[0] in {"bot", "slack_sdk"}]
        assert borrowed == [], revision.name


def test_the_backfill_folds_questions_as_the_store_does_today(
    database_url: str, tmp_path: Path
) -> None:
    """The frozen folding of revision 0002 still agrees with today's, for the texts it met."""
    engine = make_engine(database_url_for(database_url, tmp_path))
    migrate.upgrade(engine, "0001")
    texts = [
        "<@U1> What's  Flask?!",
        "Is <https://djangoproject.com|Django> :rocket: FAST &amp; safe?",
        "<!here> orm\u2019s   speed",
        "plain",
    ]
    with engine.begin() as connection:
        connection.execute(insert(questions), [question_row(text) for text in texts])
    migrate.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(questions.c.text, questions.c.normalized).order_by(questions.c.id)
        ).all()
    engine.dispose()

    assert [(row.text, row.normalized) for row in rows] == [
        (text, normalize_question(text)) for text in texts
    ]
    assert rows[0].normalized == "whats flask"


def test_upgrading_from_revision_1_builds_exactly_the_declared_schema(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url_for(database_url, tmp_path))
    migrate.upgrade(engine, "0001")
    for revision in ("0002", "0003"):
        migrate.upgrade(engine, revision)
        assert migrate.current_revision(engine) == revision
    migrate.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []
