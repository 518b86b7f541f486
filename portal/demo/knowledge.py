"""Demo knowledge base: a few bilingual articles on what customers ask most, so the ticket form's
suggestions (/support/suggest/) and the knowledge base have something real to show. Idempotent (by slug)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from support.models import ArticleStatus, KbArticle, KbCategory

CATEGORIES = [
    ("operations", "运维与告警", "Operations and alerts"),
    ("licensing", "授权与激活", "Licensing and activation"),
    ("modules", "行业模块", "Industry modules"),
]

# slug, category, title (zh), title (en), body (zh), body (en)
ARTICLES = [
    (
        "offline-alerts-delay",
        "operations",
        "设备离线告警延迟怎么办",
        "Offline alerts arrive late",
        "设备离线告警由心跳超时触发，默认超时为 **5 分钟**。如果告警延迟明显超过这个时间：\n\n"
        "1. 在「系统设置 → 告警」中检查心跳超时和告警合并窗口；\n"
        "2. 检查告警队列是否积压（运维面板的「告警队列」图表）；\n"
        "3. 门店网络不稳定时，可为该分组单独设置更长的超时，避免误报。",
        "Offline alerts are raised when a device's heartbeat times out, after **5 minutes** by default. "
        "If alerts arrive much later than that:\n\n"
        "1. check the heartbeat timeout and the alert grouping window under Settings → Alerts;\n"
        "2. check whether the alert queue is backed up (the Alert queue chart of the operations dashboard);\n"
        "3. for sites with unreliable networks, give their group a longer timeout to avoid false alerts.",
    ),
    (
        "retail-store-groups",
        "modules",
        "如何配置零售模块的门店分组",
        "Grouping stores in the retail module",
        "零售模块按「区域 → 城市 → 门店」三级组织门店。在「零售 → 门店分组」中新建分组，"
        "选择城市后批量加入门店；告警规则和看板都可以按分组筛选。",
        "The retail module organizes stores as region → city → store. Create a group under Retail → Store "
        "groups, pick a city and add its stores in bulk; alert rules and dashboards can filter by group.",
    ),
    (
        "offline-activation",
        "licensing",
        "无法联网的服务器如何激活",
        "Activating a server without internet access",
        "在客户门户的「部署 → 离线激活」上传平台生成的激活请求文件，下载许可证文件后导入平台即可。"
        "离线部署需要每 30 天按同样方式刷新一次许可证。",
        "Upload the activation request file the platform generates at Deployments → Offline activation in "
        "the customer portal, then import the license file you download. Offline deployments refresh their "
        "license the same way every 30 days.",
    ),
    (
        "activation-code-used-up",
        "licensing",
        "激活码提示已用完",
        "The activation code says it is used up",
        "每个激活码可激活的部署数量有限。停用旧部署可释放名额；如需更多部署，"
        "请在门户的合同页面查看剩余额度或联系客户经理签发新的激活码。",
        "Each activation code activates a limited number of deployments. Deactivating an old deployment frees "
        "its place; for more deployments, see the remaining allowance on the contract page of the portal or "
        "ask your account manager for a new code.",
    ),
    (
        "registry-login",
        "operations",
        "如何登录镜像仓库拉取镜像",
        "Logging in to the image registry",
        "在门户的「下载 → 镜像仓库」创建拉取凭据，然后执行 `docker login`，用户名和密码即凭据中的两项。"
        "凭据可随时吊销。",
        "Create a pull credential at Downloads → Registry in the portal, then run `docker login` with its "
        "username and secret. Credentials can be revoked at any time.",
    ),
]


def seed_knowledge_base(staff: Any) -> int:
    """Create the articles that are missing; returns how many were created."""
    categories = {}
    for order, (slug, name_zh, name_en) in enumerate(CATEGORIES):
        categories[slug], _created = KbCategory.objects.get_or_create(
            slug=slug, defaults={"name_zh": name_zh, "name_en": name_en, "sort_order": order}
        )
    created = 0
    for slug, category, title_zh, title_en, body_zh, body_en in ARTICLES:
        _article, was_created = KbArticle.objects.get_or_create(
            slug=slug,
            defaults={
                "category": categories[category],
                "title_zh": title_zh,
                "title_en": title_en,
                "body_zh": body_zh,
                "body_en": body_en,
                "status": ArticleStatus.PUBLISHED,
                "published_at": timezone.now(),
                "created_by": staff,
            },
        )
        created += was_created
    return created
