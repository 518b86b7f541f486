# ruff: noqa
# fmt: off
"""The platform's license check as shipped (seed 000, `license.py`), verbatim except for the two
things the seed leaves to the platform: where the public key comes from (`load_public_key`, not in
the seed) and the machine ID (`get_machine_id`, uuid.getnode() on a real host). Tests run licenses
issued here through it unchanged."""

import jwt
from datetime import datetime
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.backends import default_backend

class LicenseManager:
    def __init__(self, license_path='/etc/iot/license.key'):
        self.license_path = license_path
        self.public_key = self.load_public_key()
    
    def verify_license(self):
        """验证License"""
        try:
            with open(self.license_path, 'r') as f:
                license_token = f.read()
            
            # 用公钥验证(私钥在你手里签发License)
            license_data = jwt.decode(
                license_token,
                self.public_key,
                algorithms=['RS256']
            )
            
            # 检查过期时间
            if datetime.fromtimestamp(license_data['exp']) < datetime.now():
                raise Exception("License已过期")
            
            # 检查机器码(防止License被复制)
            if license_data['machine_id'] != self.get_machine_id():
                raise Exception("License机器码不匹配")
            
            return license_data
            
        except FileNotFoundError:
            # 没有License,使用社区版
            return {'edition': 'community', 'features': ['core']}
        except Exception as e:
            raise Exception(f"License验证失败: {e}")
    
    def get_enabled_features(self):
        """获取授权的功能"""
        license_data = self.verify_license()
        return license_data.get('features', ['core'])
    
    @staticmethod
    def get_machine_id():
        """获取机器唯一标识"""
        import uuid
        return str(uuid.getnode())


# fmt: on


class PlatformLicenseManager(LicenseManager):
    """The seed class on a host with a given public key file and machine ID."""

    def __init__(self, license_path, public_key_path, machine_id):
        self.public_key_path = public_key_path
        self._machine_id = machine_id
        super().__init__(license_path)

    def load_public_key(self):
        with open(self.public_key_path, "rb") as f:
            return serialization.load_pem_public_key(f.read(), backend=default_backend())

    def get_machine_id(self):
        return self._machine_id
