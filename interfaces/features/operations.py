"""The operations feature: operators' decisions about followers (skipping an event)."""

from application.follower_skip import OperatorCommands
from domain.follower_skip import FollowerSkip
from interfaces.feature import Feature
from projections.readers import ReaderRule

FEATURE = Feature(
    name="operations",
    handlers=(OperatorCommands,),
    readers=(ReaderRule(FollowerSkip, None),),  # operators read them in the audit log
)
