"""WhatsApp chat channel through Evolution API, a plugin of the OTC desk framework (entry
point ``channel_whatsapp``): ``EvolutionChannel`` sends the bot's answers, the webhook
blueprint of ``routes`` hands received messages to the desk's bot engine."""

from otc_channel_whatsapp.client import EvolutionChannel
from otc_channel_whatsapp.config import EvolutionConfig
from otc_channel_whatsapp.payloads import Skip, parse_event

__all__ = ["EvolutionChannel", "EvolutionConfig", "Skip", "parse_event"]
