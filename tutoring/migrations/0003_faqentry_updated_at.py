import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tutoring", "0002_ainoticeacceptance_chunk_conversation_faqentry_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="faqentry",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True,
                default=django.utils.timezone.now,
                help_text="Last edit (part of the index version).",
            ),
            preserve_default=False,
        ),
    ]
