from django.db import migrations, models


def seed(apps, schema_editor):
    """The standard edition is sold at its list price without negotiation (idempotent)."""
    Edition = apps.get_model("editions", "Edition")
    Edition.objects.filter(code="standard").update(sold_without_negotiation=True)


class Migration(migrations.Migration):
    dependencies = [("editions", "0004_seed_nda_terms")]

    operations = [
        migrations.AddField(
            model_name="edition",
            name="sold_without_negotiation",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Standard terms at the price list: a paid invoice of an accepted quote activates the "
                    "contract by itself, and customers may buy or renew it in the portal."
                ),
                verbose_name="sold at list price without negotiation",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
