"""The first version of the source-code confidentiality terms customers accept in the portal before
downloading source archives. Editable in admin until someone accepts it; later texts are new versions."""

from django.db import migrations
from django.utils import timezone

VERSION = "2026-01"
TITLE = "源代码保密条款 / Source code confidentiality terms"
BODY = """\
**本条款适用于通过客户门户下载的源代码授权版源代码。**

1. 源代码仅供被许可方在其源代码授权合同范围内使用。
2. 被许可方应对源代码严格保密，不得向任何第三方披露、分发或公开，包括上传至公共代码仓库。
3. 每个下载的归档文件均带有被许可方、合同、下载人和下载编号的标记，并被记录在案。
4. 本条款是被许可方已签署的保密协议（NDA）的补充；如有冲突，以已签署的保密协议为准。

**These terms apply to the source code of the Source license edition downloaded from the customer portal.**

1. The source code may be used by the licensee only within the scope of its source license contract.
2. The licensee keeps the source code strictly confidential and does not disclose, distribute or publish it
   to any third party, including by uploading it to public code repositories.
3. Every archive downloaded is marked with the licensee, the contract, the downloader and a download ID,
   and is recorded.
4. These terms supplement the non-disclosure agreement (NDA) the licensee has signed; where they conflict,
   the signed NDA prevails.
"""


def seed(apps, schema_editor):
    NdaTerms = apps.get_model("editions", "NdaTerms")
    NdaTerms.objects.get_or_create(
        version=VERSION, defaults={"title": TITLE, "body": BODY, "published_at": timezone.now()}
    )


class Migration(migrations.Migration):
    dependencies = [("editions", "0003_releases_downloads_registry")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
