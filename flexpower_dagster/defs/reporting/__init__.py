"""Stakeholder report site: the Evidence.dev project in reports/, built by the report_site asset."""
